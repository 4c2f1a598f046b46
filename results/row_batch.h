// RowBatch: per-sample measurements of one work unit, stored column-wise.
// Integer columns are int64, real columns float64, text columns UTF-8
// strings (e.g. a decoder's output); an optional float32 block holds
// per-row tensors (e.g. adversarial inputs, row shape 1x28x28).
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
  bool is_text = false;             // then is_int is false
  std::vector<int64_t> ints;        // used when is_int
  std::vector<double> reals;        // used when neither is_int nor is_text
  std::vector<std::string> texts;   // used when is_text
  size_t size() const { return is_int ? ints.size() : is_text ? texts.size() : reals.size(); }
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
  // Text values are stored as given (shards write them as UTF-8 strings,
  // which must not contain NUL bytes; see ToValidUtf8).
  void AddText(const std::string& name, std::vector<std::string> values);

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

// `text` with every byte that is not part of a valid UTF-8 sequence (and
// every NUL) replaced by U+FFFD, so it stores and reads back as text; valid
// UTF-8 comes back unchanged. Byte-level decoders can emit broken sequences.
std::string ToValidUtf8(const std::string& text);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_ROW_BATCH_H_
