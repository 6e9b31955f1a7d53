#ifndef EROOM_COLLECTOR_ALERTING_MESSAGE_SHAPE_H_
#define EROOM_COLLECTOR_ALERTING_MESSAGE_SHAPE_H_

#include <string>
#include <string_view>

namespace eroom::collector::alerting {

// What repeats of one error have in common: the message's first line with
// what varies between them masked, so that 500 "timeout after 3012 ms for
// room_1a2b3c4d" lines are one alert. UUIDs become <uuid>, room ids
// (room_<hex>) <ruid>, hex ids (0x..., or 8+ hex digits with a digit)
// <hex>, and every other run of digits <n>. At most 200 bytes, cut on a
// UTF-8 character boundary.
std::string MessageShape(std::string_view message);

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_MESSAGE_SHAPE_H_
