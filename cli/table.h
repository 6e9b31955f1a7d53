#ifndef EROOM_CLI_TABLE_H_
#define EROOM_CLI_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace eroom::cli {

// Terminal columns `text` occupies: one per code point, two for Hangul and
// other East Asian wide characters. Invalid UTF-8 bytes count one each.
int DisplayWidth(absl::string_view text);
// The longest prefix of `text`, in whole code points, that occupies at most
// `width` columns: a line that a terminal draws without wrapping.
std::string CutToWidth(absl::string_view text, int width);

// A plain text table: a header row and aligned columns separated by two
// spaces. The last column is not padded, so long messages do not create
// trailing blanks. Every cell is shown through Printable(): text from the
// network cannot drive the terminal or break the alignment.
class Table {
 public:
  enum class Align { kLeft, kRight };

  explicit Table(std::vector<std::string> headers);

  // Right alignment suits numbers; columns are left-aligned by default.
  void SetAlign(size_t column, Align align);
  // Missing cells are rendered empty; extra cells are ignored.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  void Render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace eroom::cli

#endif  // EROOM_CLI_TABLE_H_
