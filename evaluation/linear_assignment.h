// Minimum-cost linear assignment with a cost limit, as multi-object trackers
// use it (ByteTrack's lap.lapjv(cost, extend_cost=True, cost_limit=limit)):
// each row is paired with at most one column and vice versa; a row or column
// may stay unpaired at a cost of limit / 2, so a pair is only made when it
// costs less than leaving both ends unpaired (cost < limit), and the total
// cost of pairs plus unpaired ends is minimal. Solved exactly by dlib's
// Hungarian algorithm (max_cost_assignment, O(n^3) in rows + columns) on
// the extended square matrix, with costs scaled to integers (1e-6
// resolution). Torch-free. Thread-safe: a pure function.
#ifndef EFFROBUST_EVALUATION_LINEAR_ASSIGNMENT_H_
#define EFFROBUST_EVALUATION_LINEAR_ASSIGNMENT_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace effrobust {

struct Assignment {
  std::vector<std::pair<int64_t, int64_t>> pairs;  // (row, column), rows ascending
  std::vector<int64_t> unpaired_rows;              // ascending
  std::vector<int64_t> unpaired_columns;           // ascending
};

// cost[r][c] for cost.size() rows x `columns` columns (every row has
// `columns` entries; no rows or no columns is fine: everything is then
// unpaired). Throws std::invalid_argument on a row of another length, a
// cost that is not finite, columns < 0 or limit <= 0.
Assignment AssignWithLimit(const std::vector<std::vector<double>>& cost, int64_t columns,
                           double limit);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_LINEAR_ASSIGNMENT_H_
