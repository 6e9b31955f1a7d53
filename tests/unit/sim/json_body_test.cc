#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/sim/http_api.h"

namespace eroom::sim {
namespace {

TEST(RenderJsonBodyTest, PrettyPrintsWithTwoSpacesInInsertionOrder) {
  nlohmann::ordered_json body;
  body["status"] = "healthy";
  body["queue"] = {{"queued", 5}, {"active", 1}};
  body["empty"] = nlohmann::ordered_json::array();
  body["success"] = true;
  EXPECT_EQ(RenderJsonBody(body),
            "{\n"
            "  \"status\": \"healthy\",\n"
            "  \"queue\": {\n"
            "    \"queued\": 5,\n"
            "    \"active\": 1\n"
            "  },\n"
            "  \"empty\": [],\n"
            "  \"success\": true\n"
            "}");
}

TEST(RenderJsonBodyTest, EscapesLikeGsonsHtmlSafeWriter) {
  nlohmann::ordered_json body;
  body["message"] = "/room/result?ruid=room_1 'x' <b>&";
  body["한글"] = "그대로";
  EXPECT_EQ(RenderJsonBody(body),
            "{\n"
            "  \"message\": \"/room/result?ruid\\u003droom_1 \\u0027x\\u0027 "
            "\\u003cb\\u003e\\u0026\",\n"
            "  \"한글\": \"그대로\"\n"
            "}");
}

TEST(RenderJsonBodyTest, InvalidUtf8FromClientsDoesNotThrow) {
  nlohmann::ordered_json body;
  body["theme"] = std::string("bad \xff byte");
  std::string rendered;
  EXPECT_NO_THROW(rendered = RenderJsonBody(body));
  EXPECT_NE(rendered.find("bad "), std::string::npos);
}

}  // namespace
}  // namespace eroom::sim
