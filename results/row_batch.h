// RowBatch: per-sample measurements of one work unit, stored column-wise.
// Integer columns are int64, real columns float64; an optional float32
// block holds per-row tensors (e.g. adversarial inputs, row shape 1x28x28).
// Value type; not thread-safe for concurrent mutation.
#ifndef EFFROBUST_RESULTS_ROW_BATCH_H_
#define EFFROBUST_RESULTS_ROW_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

namespace effrobust {

struct Column {
  std::string name;
  bool is_int = false;
  std::vector<int64_t> ints;   // used when is_int
  std::vector<double> reals;   // used when !is_int
  size_t size() const { return is_int ? ints.size() : reals.size(); }
};

// Per-row float32 tensors of a fixed row shape, stored row-major.
struct TensorBlock {
  std::string name;              // empty: no block
  std::vector<int64_t> row_shape;  // e.g. {1, 28, 28}
  std::vector<float> data;         // rows * prod(row_shape) values
  int64_t RowElements() const;
};

class RowBatch {
 public:
  // Adds a column. REQUIRES: name not yet present; every column of a batch
  // has the same length (checked by rows(), which throws ResultsError).
  void AddInt(const std::string& name, std::vector<int64_t> values);
  void AddReal(const std::string& name, std::vector<double> values);

  // Number of rows; throws ResultsError if columns differ in length.
  size_t rows() const;

  const std::vector<Column>& columns() const { return columns_; }
  // Throws ResultsError naming the column if absent.
  const Column& Get(const std::string& name) const;
  bool Has(const std::string& name) const;

  TensorBlock& tensor() { return tensor_; }
  const TensorBlock& tensor() const { return tensor_; }

  // One unit id per row; filled by readers (writers take the id separately).
  std::vector<std::string>& unit_ids() { return unit_ids_; }
  const std::vector<std::string>& unit_ids() const { return unit_ids_; }

 private:
  std::vector<Column> columns_;
  TensorBlock tensor_;
  std::vector<std::string> unit_ids_;
};

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_ROW_BATCH_H_
