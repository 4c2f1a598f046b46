// Text rendering of query results (see results/render.h).
#include "results/render.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/value.h"

namespace effrobust {
namespace {

// True if `s` is a JSON number (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)
// whose value is finite.
bool IsNumber(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&]() {
    const size_t start = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < n && s[i] == '-') ++i;
  if (i < n && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  if (i != n) return false;
  return std::isfinite(std::strtod(s.c_str(), nullptr));
}

// A column is numeric when it has at least one non-empty cell and all its
// non-empty cells are numbers; numeric columns are right-aligned.
std::vector<bool> NumericColumns(const QueryResult& r) {
  std::vector<bool> numeric(r.columns.size(), false);
  for (size_t c = 0; c < r.columns.size(); ++c) {
    bool any = false, all = true;
    for (const auto& row : r.rows) {
      if (row[c].empty()) continue;
      any = true;
      if (!IsNumber(row[c])) {
        all = false;
        break;
      }
    }
    numeric[c] = any && all;
  }
  return numeric;
}

// Width in terminal columns, counting UTF-8 code points.
size_t DisplayWidth(const std::string& s) {
  size_t width = 0;
  for (unsigned char ch : s) {
    if ((ch & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string Pad(const std::string& s, size_t width, bool right) {
  const size_t w = DisplayWidth(s);
  if (w >= width) return s;
  const std::string fill(width - w, ' ');
  return right ? fill + s : s + fill;
}

std::string OneLine(const std::string& s, const std::string& newline) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    if (ch == '\n' || ch == '\r') {
      out += newline;
    } else if (ch == '\t') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

void RTrim(std::string* line) {
  while (!line->empty() && line->back() == ' ') line->pop_back();
}

// Cells made single-line by `clean`, header first.
template <typename Clean>
std::vector<std::vector<std::string>> CleanCells(const QueryResult& r, Clean clean) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(r.rows.size() + 1);
  std::vector<std::string> header;
  for (const auto& c : r.columns) header.push_back(clean(c));
  cells.push_back(std::move(header));
  for (const auto& row : r.rows) {
    std::vector<std::string> out;
    for (const auto& v : row) out.push_back(clean(v));
    cells.push_back(std::move(out));
  }
  return cells;
}

std::vector<size_t> Widths(const std::vector<std::vector<std::string>>& cells, size_t min) {
  std::vector<size_t> widths(cells.front().size(), min);
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  return widths;
}

std::string RenderAligned(const QueryResult& r) {
  if (r.columns.empty()) return "";
  const auto cells = CleanCells(r, [](const std::string& s) { return OneLine(s, " "); });
  const std::vector<size_t> widths = Widths(cells, 1);
  const std::vector<bool> numeric = NumericColumns(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      line += Pad(row[c], widths[c], numeric[c]);
    }
    RTrim(&line);
    out += line + "\n";
  };
  emit(cells.front());
  std::string rule;
  for (size_t c = 0; c < widths.size(); ++c) {
    if (c > 0) rule += "  ";
    rule += std::string(widths[c], '-');
  }
  out += rule + "\n";
  for (size_t i = 1; i < cells.size(); ++i) emit(cells[i]);
  return out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string RenderCsv(const QueryResult& r) {
  if (r.columns.empty()) return "";
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += ',';
      out += CsvField(row[c]);
    }
    out += '\n';
  };
  emit(r.columns);
  for (const auto& row : r.rows) emit(row);
  return out;
}

std::string RenderJson(const QueryResult& r) {
  if (r.rows.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out += "  {";
    for (size_t c = 0; c < r.columns.size(); ++c) {
      if (c > 0) out += ", ";
      const std::string& v = r.rows[i][c];
      out += JsonQuote(r.columns[c]) + ": " + (IsNumber(v) ? v : JsonQuote(v));
    }
    out += i + 1 < r.rows.size() ? "},\n" : "}\n";
  }
  return out + "]\n";
}

std::string MarkdownCell(const std::string& s) {
  std::string out;
  for (char ch : OneLine(s, "<br>")) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

std::string RenderMarkdown(const QueryResult& r) {
  if (r.columns.empty()) return "";
  const auto cells = CleanCells(r, MarkdownCell);
  const std::vector<size_t> widths = Widths(cells, 3);
  const std::vector<bool> numeric = NumericColumns(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line = "|";
    for (size_t c = 0; c < row.size(); ++c) {
      line += " " + Pad(row[c], widths[c], numeric[c]) + " |";
    }
    out += line + "\n";
  };
  emit(cells.front());
  std::string rule = "|";
  for (size_t c = 0; c < widths.size(); ++c) {
    rule += " " + (numeric[c] ? std::string(widths[c] - 1, '-') + ":"
                              : std::string(widths[c], '-')) + " |";
  }
  out += rule + "\n";
  for (size_t i = 1; i < cells.size(); ++i) emit(cells[i]);
  return out;
}

std::string LatexCell(const std::string& s) {
  std::string out;
  for (char ch : OneLine(s, " ")) {
    switch (ch) {
      case '&': case '%': case '_': case '#': case '$': case '{': case '}':
        out += '\\';
        out += ch;
        break;
      case '\\':
        out += "\\textbackslash{}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string RenderLatex(const QueryResult& r) {
  if (r.columns.empty()) return "";
  const std::vector<bool> numeric = NumericColumns(r);
  std::string spec;
  for (bool n : numeric) spec += n ? 'r' : 'l';
  std::string out = "\\begin{tabular}{" + spec + "}\n\\hline\n";
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += " & ";
      line += LatexCell(row[c]);
    }
    out += line + " \\\\\n";
  };
  emit(r.columns);
  out += "\\hline\n";
  for (const auto& row : r.rows) emit(row);
  return out + "\\hline\n\\end{tabular}\n";
}

}  // namespace

TableFormat ParseTableFormat(const std::string& text) {
  std::string t;
  for (char ch : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t == "aligned" || t == "table") return TableFormat::kAligned;
  if (t == "csv") return TableFormat::kCsv;
  if (t == "json") return TableFormat::kJson;
  if (t == "markdown" || t == "md") return TableFormat::kMarkdown;
  if (t == "latex") return TableFormat::kLatex;
  throw SpecError("unknown table format '" + text +
                  "' (allowed: aligned|table, csv, json, markdown|md, latex)");
}

std::string RenderTable(const QueryResult& result, TableFormat format) {
  for (size_t i = 0; i < result.rows.size(); ++i) {
    if (result.rows[i].size() != result.columns.size()) {
      throw ResultsError("render: row " + std::to_string(i) + " has " +
                         std::to_string(result.rows[i].size()) + " cells but there are " +
                         std::to_string(result.columns.size()) + " columns");
    }
  }
  switch (format) {
    case TableFormat::kAligned:
      return RenderAligned(result);
    case TableFormat::kCsv:
      return RenderCsv(result);
    case TableFormat::kJson:
      return RenderJson(result);
    case TableFormat::kMarkdown:
      return RenderMarkdown(result);
    case TableFormat::kLatex:
      return RenderLatex(result);
  }
  throw ResultsError("render: unknown table format");
}

}  // namespace effrobust
