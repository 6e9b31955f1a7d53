#ifndef EROOM_CLI_TERMINAL_H_
#define EROOM_CLI_TERMINAL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace eroom::cli {

struct TerminalSize {
  int columns = 80;
  int rows = 24;
};

// What ended a wait for input.
struct TerminalEvent {
  enum class Kind {
    kTimeout,    // Nothing happened.
    kKey,        // `key` was pressed.
    kResize,     // The window changed size: redraw.
    kInterrupt,  // Ctrl-C, SIGTERM or SIGHUP: leave.
  };
  Kind kind = Kind::kTimeout;
  char key = 0;
};

// A terminal a full-screen view draws on. While the object lives, the
// terminal shows the alternate screen and reads keys one at a time without
// echo; destroying it gives the terminal back as it was.
class Terminal {
 public:
  virtual ~Terminal() = default;

  virtual TerminalSize Size() = 0;
  virtual void Write(absl::string_view bytes) = 0;
  // Waits up to `timeout` for a key, a resize or an interrupt.
  virtual TerminalEvent Wait(absl::Duration timeout) = 0;
};

// The process's own terminal in full-screen mode; nullptr when stdout is
// not a terminal (a pipe, a file), where plain output is wanted. Keys are
// read from stdin when it is a terminal. Ctrl-C, SIGTERM and SIGHUP become
// kInterrupt events (rather than ending the process with the terminal left
// in full-screen mode) for as long as the object lives; Ctrl-Z gives the
// terminal back while the process is stopped, and a kResize event (redraw)
// once it continues.
absl::StatusOr<std::unique_ptr<Terminal>> OpenProcessTerminal();

}  // namespace eroom::cli

#endif  // EROOM_CLI_TERMINAL_H_
