#include "evaluation/linear_assignment.h"

#include <dlib/matrix.h>
#include <dlib/optimization/max_cost_assignment.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace effrobust {

Assignment AssignWithLimit(const std::vector<std::vector<double>>& cost, int64_t columns,
                           double limit) {
  if (!(limit > 0) || !std::isfinite(limit) || columns < 0) {
    throw std::invalid_argument("assignment needs a positive cost limit and columns >= 0, got " +
                                std::to_string(limit) + " and " + std::to_string(columns));
  }
  const int64_t rows = static_cast<int64_t>(cost.size());
  const int64_t cols = columns;
  for (int64_t r = 0; r < rows; ++r) {
    if (static_cast<int64_t>(cost[r].size()) != cols) {
      throw std::invalid_argument("assignment cost matrix row " + std::to_string(r) + " has " +
                                  std::to_string(cost[r].size()) + " entries, not " +
                                  std::to_string(cols));
    }
    for (double c : cost[r]) {
      if (!std::isfinite(c)) {
        throw std::invalid_argument("assignment cost in row " + std::to_string(r) +
                                    " is not finite");
      }
    }
  }
  Assignment out;
  if (rows == 0 || cols == 0) {
    for (int64_t r = 0; r < rows; ++r) out.unpaired_rows.push_back(r);
    for (int64_t c = 0; c < cols; ++c) out.unpaired_columns.push_back(c);
    return out;
  }
  // Extended matrix (n = rows + cols), as lapjv's extend_cost: [C, D_r; D_c, 0] with
  // D_r = diag(limit / 2) (row r left unpaired) and D_c = diag(limit / 2) (column c
  // left unpaired), everything else off-limits. dlib maximises, so negate.
  const int64_t n = rows + cols;
  constexpr double kScale = 1e6;
  // Off-limits: worse than any total of real entries, small enough not to overflow.
  double worst = limit;
  for (const auto& row : cost) {
    for (double c : row) worst = std::max(worst, std::abs(c));
  }
  const long forbidden = -static_cast<long>(std::llround(worst * kScale)) * (n + 1) - 1;
  dlib::matrix<long> m(n, n);
  m = forbidden;
  auto scaled = [&](double c) { return -static_cast<long>(std::llround(c * kScale)); };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) m(r, c) = scaled(cost[r][c]);
    m(r, cols + r) = scaled(limit / 2);
  }
  for (int64_t c = 0; c < cols; ++c) {
    m(rows + c, c) = scaled(limit / 2);
    for (int64_t r = 0; r < rows; ++r) m(rows + c, cols + r) = 0;
  }
  const std::vector<long> pick = dlib::max_cost_assignment(m);
  std::vector<bool> column_used(static_cast<size_t>(cols), false);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = pick[static_cast<size_t>(r)];
    if (c < cols && cost[r][c] < limit) {
      out.pairs.emplace_back(r, c);
      column_used[static_cast<size_t>(c)] = true;
    } else {
      out.unpaired_rows.push_back(r);
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    if (!column_used[static_cast<size_t>(c)]) out.unpaired_columns.push_back(c);
  }
  return out;
}

}  // namespace effrobust
