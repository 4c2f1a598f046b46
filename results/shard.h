// HDF5 result shards. One shard per worker rank per run attempt; rows of
// many units are appended to extendible, chunked, deflate-compressed
// datasets (one dataset per column under /rows, plus /rows/unit_id as a
// fixed 16-byte string and, optionally, /tensors/<name>). Each finished unit
// also gets a completion record (results/unit_record.h) under /units, written
// after its rows: the shards alone are enough to rebuild the index. While
// open the file lives at "<final>.tmp"; Close() flushes, closes, fsyncs and
// renames it to the final path. Schema: docs/results-format.md.
//
// Thread-safety: a ShardWriter is used by one thread. Readers may be used
// concurrently on closed (renamed) shards.
#ifndef EFFROBUST_RESULTS_SHARD_H_
#define EFFROBUST_RESULTS_SHARD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "results/row_batch.h"

namespace effrobust {

struct RowRange {
  int64_t begin = 0;  // first row (inclusive)
  int64_t end = 0;    // one past the last row
};

// File-level attributes written to the root group as string attributes.
using ShardAttributes = std::map<std::string, std::string>;

class ShardWriter {
 public:
  virtual ~ShardWriter() = default;

  // Appends `rows` tagged with `unit_id` (16 chars) and flushes them to disk
  // (H5Fflush) before returning the rows' range in this shard.
  // Throws ResultsError if the batch's columns differ from the first batch's
  // (names, types, tensor row shape) or on I/O failure.
  virtual RowRange Append(const std::string& unit_id, const RowBatch& rows) = 0;

  // Appends the completion record of `unit_id` (text, normally
  // EncodeUnitRecord's) to /units/unit_id and /units/record and flushes it to
  // disk before returning. Call it after the unit's rows are appended: a
  // record marks the unit's rows as complete. Throws ResultsError on an empty
  // unit id or on I/O failure.
  virtual void AppendUnitRecord(const std::string& unit_id, const std::string& record_json) = 0;

  // Rows written so far.
  virtual int64_t row_count() const = 0;

  // Flushes, closes, and atomically renames the temporary file to
  // final_path(). Idempotent. Throws ResultsError on failure; the temporary
  // file is never deleted.
  virtual void Close() = 0;

  virtual const std::string& final_path() const = 0;
  virtual const std::string& temp_path() const = 0;  // final_path() + ".tmp"
};

// Creates "<final_path>.tmp" (parent directories must exist). Throws
// ResultsError if either the final or the temporary file already exists:
// existing results are never overwritten.
std::unique_ptr<ShardWriter> CreateHdf5Shard(const std::string& final_path,
                                             const ShardAttributes& attrs);

// Reads rows [range.begin, range.end) of a shard, all columns, unit ids and
// the tensor block if present (only when `with_tensors`). Throws ResultsError
// naming the file on a missing file/dataset or an out-of-bounds range.
RowBatch ReadShardRows(const std::string& path, RowRange range,
                       bool with_tensors = false);

// Total rows in a shard. Throws ResultsError on failure.
int64_t ShardRowCount(const std::string& path);

// Root attributes of a shard.
ShardAttributes ReadShardAttributes(const std::string& path);

struct StoredUnitRecord {
  std::string unit_id;
  std::string record_json;
};

// The unit records of a shard in the order they were appended; empty for a
// shard written before records existed (no /units group). Throws
// ResultsError naming the file on a missing file or unreadable datasets.
std::vector<StoredUnitRecord> ReadShardUnitRecords(const std::string& path);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_SHARD_H_
