#include "results/row_batch.h"

#include <utility>

#include "common/error.h"

namespace effrobust {

int64_t TensorBlock::RowElements() const {
  int64_t n = 1;
  for (int64_t d : row_shape) n *= d;
  return n;
}

namespace {

void CheckNewColumn(const std::vector<Column>& columns, const std::string& name) {
  if (name.empty()) throw ResultsError("row batch: column name must not be empty");
  for (const Column& c : columns) {
    if (c.name == name) {
      throw ResultsError("row batch: column '" + name + "' added twice");
    }
  }
}

}  // namespace

void RowBatch::AddInt(const std::string& name, std::vector<int64_t> values) {
  CheckNewColumn(columns_, name);
  Column c;
  c.name = name;
  c.is_int = true;
  c.ints = std::move(values);
  columns_.push_back(std::move(c));
}

void RowBatch::AddReal(const std::string& name, std::vector<double> values) {
  CheckNewColumn(columns_, name);
  Column c;
  c.name = name;
  c.is_int = false;
  c.reals = std::move(values);
  columns_.push_back(std::move(c));
}

void RowBatch::AddText(const std::string& name, std::vector<std::string> values) {
  CheckNewColumn(columns_, name);
  Column c;
  c.name = name;
  c.is_text = true;
  c.texts = std::move(values);
  columns_.push_back(std::move(c));
}

size_t RowBatch::rows() const {
  if (columns_.empty()) {
    // A batch without columns: fall back to the unit ids (readers), then the
    // tensor block.
    if (!unit_ids_.empty()) return unit_ids_.size();
    if (!tensor_.name.empty() && tensor_.RowElements() > 0) {
      return tensor_.data.size() / static_cast<size_t>(tensor_.RowElements());
    }
    return 0;
  }
  const size_t n = columns_.front().size();
  for (const Column& c : columns_) {
    if (c.size() != n) {
      throw ResultsError("row batch: column '" + c.name + "' has " +
                         std::to_string(c.size()) + " rows but column '" +
                         columns_.front().name + "' has " + std::to_string(n));
    }
  }
  return n;
}

const Column& RowBatch::Get(const std::string& name) const {
  for (const Column& c : columns_) {
    if (c.name == name) return c;
  }
  throw ResultsError("row batch: no column '" + name + "'");
}

bool RowBatch::Has(const std::string& name) const {
  for (const Column& c : columns_) {
    if (c.name == name) return true;
  }
  return false;
}

std::string ToValidUtf8(const std::string& text) {
  static const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0x01 && c <= 0x7F) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      const unsigned char t = b[i + k];
      ok = k == 1 ? (t >= lo && t <= hi) : (t >= 0x80 && t <= 0xBF);
    }
    if (!ok) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text, i, len);
    i += len;
  }
  return out;
}

}  // namespace effrobust
