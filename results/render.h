// Rendering of query results and report tables as text. Pure functions.
#ifndef EFFROBUST_RESULTS_RENDER_H_
#define EFFROBUST_RESULTS_RENDER_H_

#include <string>

#include "results/index.h"

namespace effrobust {

enum class TableFormat { kAligned, kCsv, kJson, kMarkdown, kLatex };

// Parses "aligned|table", "csv", "json", "markdown|md", "latex". Throws
// SpecError listing the allowed values otherwise.
TableFormat ParseTableFormat(const std::string& text);

// Renders `result`:
//  kAligned: space-padded columns with a header and a dashed rule;
//  kCsv: RFC 4180 quoting; kJson: an array of objects (numbers stay
//  strings unless they parse fully as numbers); kMarkdown: pipe table;
//  kLatex: tabular with escaped cells (& % _ # $ { }).
std::string RenderTable(const QueryResult& result, TableFormat format);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_RENDER_H_
