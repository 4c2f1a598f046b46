// HDF5 implementation of result shards (see results/shard.h).
//
// Layout of a shard:
//   /                  string attributes (ShardAttributes + "format")
//   /rows/<column>     1-D extendible dataset, int64 (H5T_STD_I64LE) or
//                      float64 (H5T_IEEE_F64LE), chunked, shuffle + deflate;
//                      or a text column: variable-length UTF-8 string,
//                      chunked, no filters (the strings live in the heap)
//   /rows/unit_id      1-D extendible fixed 16-byte string (NUL padded)
//   /tensors/<name>    optional float32 [rows, row_shape...], chunked by rows
//   /units/unit_id     1-D extendible variable-length UTF-8 string: one entry
//   /units/record      per finished unit, its id and completion record (JSON)
//
// Every dataset under /rows has the same extent; /rows/unit_id is written last
// in each Append, so its extent is the authoritative row count. Likewise
// /units/unit_id is written after /units/record.
#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "results/shard.h"

namespace effrobust {
namespace {

constexpr char kFormatAttribute[] = "format";
constexpr char kFormatValue[] = "effrobust-shard-1";
constexpr char kRowsGroup[] = "/rows";
constexpr char kTensorsGroup[] = "/tensors";
constexpr char kUnitsGroup[] = "/units";
constexpr char kRecordName[] = "record";
constexpr hsize_t kRecordChunkRows = 64;
constexpr char kUnitIdName[] = "unit_id";
// Every append flushes, which recompresses the partly filled last chunk of
// every column: small chunks and deflate level 1 keep that cheap (issue 8:
// 16384-row chunks at level 4 made a 250-row append take 13 ms, 97 % of it
// in zlib; now ~3 ms, files ~3x larger, still ~15x smaller than raw).
constexpr hsize_t kColumnChunkRows = 1024;
constexpr hsize_t kTextChunkRows = 1024;
constexpr size_t kUnitIdBytes = 16;
constexpr unsigned kDeflateLevel = 1;
constexpr size_t kTensorChunkBytes = size_t{1} << 20;  // ~1 MiB per chunk
constexpr int kMaxRank = 32;                             // H5S_MAX_RANK

// HDF5 is built thread-safe on Debian, where the automatic error printing is
// a per-thread setting: every entry point turns it off for its thread.
void QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

herr_t CollectError(unsigned /*n*/, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (err != nullptr && err->desc != nullptr && err->desc[0] != '\0') {
    std::string func = err->func_name != nullptr ? err->func_name : "";
    out->push_back(func.empty() ? std::string(err->desc) : func + ": " + err->desc);
  }
  return 0;
}

// The current thread's HDF5 error stack as one line: the failing API call and
// the innermost cause. Clears the stack.
std::string Hdf5Detail() {
  std::vector<std::string> messages;  // innermost first
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, CollectError, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "HDF5 call failed";
  if (messages.size() == 1) return messages.front();
  return messages.back() + " (" + messages.front() + ")";
}

[[noreturn]] void FailHdf5(const std::string& where, const std::string& what) {
  throw ResultsError(where + ": " + what + ": " + Hdf5Detail());
}

hid_t CheckId(hid_t id, const std::string& where, const std::string& what) {
  if (id < 0) FailHdf5(where, what);
  return id;
}

void Check(herr_t status, const std::string& where, const std::string& what) {
  if (status < 0) FailHdf5(where, what);
}

std::string Errno(int err) { return std::strerror(err); }

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) {
    other.id_ = -1;
  }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { Reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

  // Closes the identifier; returns the closer's status (0 if nothing open).
  herr_t Reset() {
    herr_t status = 0;
    if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
    id_ = -1;
    return status;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

Handle MakeHandle(hid_t id, Handle::Closer closer, const std::string& where,
                  const std::string& what) {
  return Handle(CheckId(id, where, what), closer);
}

bool PathExists(const std::string& path, const std::string& where) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw ResultsError(where + ": cannot stat '" + path + "': " + Errno(errno));
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void FsyncPath(const std::string& path, bool directory, const std::string& where) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) {
    throw ResultsError(where + ": cannot open '" + path + "' to fsync: " + Errno(errno));
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw ResultsError(where + ": fsync of '" + path + "' failed: " + Errno(err));
  }
  ::close(fd);
}

// Renames `from` to `to` without ever replacing an existing `to`.
void RenameNoReplace(const std::string& from, const std::string& to,
                     const std::string& where) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return;
  }
  if (errno == EEXIST) {
    throw ResultsError(where + ": cannot rename to '" + to +
                       "': it already exists; results are never overwritten (data kept in '" +
                       from + "')");
  }
  if (errno != EINVAL && errno != ENOSYS) {
    throw ResultsError(where + ": cannot rename '" + from + "' to '" + to + "': " +
                       Errno(errno));
  }
  // The file system does not support RENAME_NOREPLACE: check, then rename.
#endif
  if (PathExists(to, where)) {
    throw ResultsError(where + ": cannot rename to '" + to +
                       "': it already exists; results are never overwritten (data kept in '" +
                       from + "')");
  }
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw ResultsError(where + ": cannot rename '" + from + "' to '" + to + "': " +
                       Errno(errno));
  }
}

Handle VariableStringType(const std::string& where) {
  Handle type = MakeHandle(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot copy string type");
  Check(H5Tset_size(type.get(), H5T_VARIABLE), where, "cannot size string type");
  Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), where, "cannot set string charset");
  return type;
}

Handle UnitIdType(size_t bytes, const std::string& where) {
  Handle type = MakeHandle(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot copy string type");
  Check(H5Tset_size(type.get(), bytes), where, "cannot size unit id type");
  Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), where, "cannot set unit id padding");
  return type;
}

void WriteStringAttribute(hid_t loc, const std::string& name, const std::string& value,
                          const std::string& where) {
  const std::string ctx = where + " attribute '" + name + "'";
  Handle type = VariableStringType(ctx);
  Handle space = MakeHandle(H5Screate(H5S_SCALAR), H5Sclose, ctx, "cannot create dataspace");
  Handle attr = MakeHandle(
      H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, ctx, "cannot create attribute");
  const char* text = value.c_str();
  Check(H5Awrite(attr.get(), type.get(), &text), ctx, "cannot write attribute");
  Check(attr.Reset(), ctx, "cannot close attribute");
}

// Creates an extendible chunked dataset of shape [0, tail...] with maximum
// shape [unlimited, tail...].
Handle CreateExtendible(hid_t loc, const std::string& name, hid_t file_type,
                        const std::vector<hsize_t>& tail, hsize_t chunk_rows, bool shuffle,
                        const std::string& where, bool deflate = true) {
  const int rank = static_cast<int>(tail.size()) + 1;
  std::vector<hsize_t> dims(rank, 0), max_dims(rank, 0), chunk(rank, 0);
  dims[0] = 0;
  max_dims[0] = H5S_UNLIMITED;
  chunk[0] = chunk_rows;
  for (size_t i = 0; i < tail.size(); ++i) {
    dims[i + 1] = max_dims[i + 1] = chunk[i + 1] = tail[i];
  }
  Handle space = MakeHandle(H5Screate_simple(rank, dims.data(), max_dims.data()), H5Sclose,
                            where, "cannot create dataspace");
  Handle dcpl = MakeHandle(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, where,
                           "cannot create dataset property list");
  Check(H5Pset_chunk(dcpl.get(), rank, chunk.data()), where, "cannot set chunking");
  if (shuffle) Check(H5Pset_shuffle(dcpl.get()), where, "cannot enable shuffle filter");
  if (deflate) {
    Check(H5Pset_deflate(dcpl.get(), kDeflateLevel), where, "cannot enable deflate filter");
  }
  return MakeHandle(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                               dcpl.get(), H5P_DEFAULT),
                    H5Dclose, where, "cannot create dataset");
}

// The file dataspace of `dset` with the hyperslab `offset`/`block` selected,
// and a memory dataspace of shape `block`: what one read or write of a row
// range needs.
struct RowSelection {
  Handle file_space;
  Handle mem_space;
};
RowSelection SelectRows(hid_t dset, const std::vector<hsize_t>& offset,
                        const std::vector<hsize_t>& block, const std::string& where) {
  RowSelection sel;
  sel.file_space = MakeHandle(H5Dget_space(dset), H5Sclose, where, "cannot get dataspace");
  Check(H5Sselect_hyperslab(sel.file_space.get(), H5S_SELECT_SET, offset.data(), nullptr,
                            block.data(), nullptr),
        where, "cannot select rows");
  sel.mem_space = MakeHandle(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr),
                             H5Sclose, where, "cannot create memory dataspace");
  return sel;
}

// Sets the extent of `dset` to [start + count, tail...] and writes `data`
// (count rows) at row `start`.
void ExtendAndWrite(hid_t dset, const std::vector<hsize_t>& tail, hsize_t start,
                    hsize_t count, hid_t mem_type, const void* data,
                    const std::string& where) {
  const int rank = static_cast<int>(tail.size()) + 1;
  std::vector<hsize_t> dims(rank), offset(rank, 0), block(rank);
  dims[0] = start + count;
  offset[0] = start;
  block[0] = count;
  for (size_t i = 0; i < tail.size(); ++i) dims[i + 1] = block[i + 1] = tail[i];
  Check(H5Dset_extent(dset, dims.data()), where, "cannot extend dataset");
  if (count == 0) return;
  RowSelection sel = SelectRows(dset, offset, block, where);
  Check(H5Dwrite(dset, mem_type, sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT, data),
        where, "cannot write rows");
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------
// Writer

class Hdf5ShardWriter : public ShardWriter {
 public:
  explicit Hdf5ShardWriter(std::string final_path)
      : final_path_(std::move(final_path)), temp_path_(final_path_ + ".tmp") {}

  ~Hdf5ShardWriter() override {
    if (stage_ == Stage::kDone || stage_ == Stage::kBroken) return;
    try {
      Close();
    } catch (const std::exception& e) {
      LogWarn(std::string("closing shard on destruction failed: ") + e.what());
    } catch (...) {
      LogWarn("closing shard '" + temp_path_ + "' on destruction failed");
    }
  }

  // Creates the temporary file, the /rows group, /rows/unit_id and the root
  // attributes. On failure removes the (fresh, empty) temporary file and
  // leaves the writer unusable (the destructor then does nothing).
  void Open(const ShardAttributes& attrs) {
    const std::string where = Where();
    if (PathExists(final_path_, where)) {
      throw ResultsError(where + ": '" + final_path_ +
                         "' already exists; results are never overwritten");
    }
    if (PathExists(temp_path_, where)) {
      throw ResultsError(where + ": temporary file '" + temp_path_ +
                         "' already exists (another writer, or a crashed one); "
                         "results are never overwritten");
    }
    // H5F_ACC_EXCL makes the creation itself atomic against a racing writer.
    hid_t file = H5Fcreate(temp_path_.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
      FailHdf5(where, "cannot create '" + temp_path_ + "'");
    }
    file_ = Handle(file, H5Fclose);
    try {
      ShardAttributes all = attrs;
      all[kFormatAttribute] = kFormatValue;
      for (const auto& [name, value] : all) {
        if (name.empty()) throw ResultsError(where + ": empty attribute name");
        WriteStringAttribute(file_.get(), name, value, where);
      }
      Handle gcpl = MakeHandle(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, where,
                               "cannot create group property list");
      Check(H5Pset_link_creation_order(gcpl.get(),
                                       H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            where, "cannot track link creation order");
      rows_group_ = MakeHandle(
          H5Gcreate2(file_.get(), kRowsGroup, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose,
          where + " group '/rows'", "cannot create group");
      const std::string ctx = where + " dataset '/rows/unit_id'";
      Handle type = UnitIdType(kUnitIdBytes, ctx);
      unit_ids_ = CreateExtendible(rows_group_.get(), kUnitIdName, type.get(), {},
                                   kColumnChunkRows, /*shuffle=*/false, ctx);
      CreateUnitRecordDatasets(where);
      Check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), where, "cannot flush");
    } catch (...) {
      Abandon();
      throw;
    }
    stage_ = Stage::kOpen;
  }

  RowRange Append(const std::string& unit_id, const RowBatch& batch) override {
    QuietHdf5();
    const std::string where = Where() + " unit '" + unit_id + "'";
    if (stage_ != Stage::kOpen) throw ResultsError(where + ": append to a closed or failed shard");
    if (unit_id.empty() || unit_id.size() > kUnitIdBytes) {
      throw ResultsError(where + ": unit id must have 1 to 16 characters, got " +
                         std::to_string(unit_id.size()));
    }
    const size_t n = CheckedRows(batch, where);
    CheckTexts(batch, where);
    const TensorBlock& tensor = batch.tensor();
    const bool has_tensor = !tensor.name.empty();
    if (has_tensor) CheckTensor(tensor, n, where);

    if (!schema_set_) {
      CreateSchema(batch, where);
    } else {
      CheckSchema(batch, where);
    }

    const hsize_t start = static_cast<hsize_t>(rows_);
    const hsize_t count = static_cast<hsize_t>(n);
    for (const Column& c : batch.columns()) {
      const ColumnSink& sink = Sink(c.name);
      const std::string ctx = where + " dataset '/rows/" + c.name + "'";
      if (c.is_text) {
        std::vector<const char*> texts(c.texts.size());
        for (size_t i = 0; i < texts.size(); ++i) texts[i] = c.texts[i].c_str();
        Handle type = VariableStringType(ctx);
        ExtendAndWrite(sink.dataset.get(), {}, start, count, type.get(), texts.data(), ctx);
      } else if (c.is_int) {
        ExtendAndWrite(sink.dataset.get(), {}, start, count, H5T_NATIVE_INT64, c.ints.data(),
                       ctx);
      } else {
        ExtendAndWrite(sink.dataset.get(), {}, start, count, H5T_NATIVE_DOUBLE,
                       c.reals.data(), ctx);
      }
    }
    if (has_tensor) {
      std::vector<hsize_t> tail(tensor.row_shape.begin(), tensor.row_shape.end());
      ExtendAndWrite(tensor_.get(), tail, start, count, H5T_NATIVE_FLOAT, tensor.data.data(),
                     where + " dataset '/tensors/" + tensor.name + "'");
    }
    // unit_id last: its extent is the shard's row count.
    {
      const std::string ctx = where + " dataset '/rows/unit_id'";
      std::vector<char> ids(n * kUnitIdBytes, '\0');
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(ids.data() + i * kUnitIdBytes, unit_id.data(), unit_id.size());
      }
      Handle type = UnitIdType(kUnitIdBytes, ctx);
      ExtendAndWrite(unit_ids_.get(), {}, start, count, type.get(), ids.data(), ctx);
    }
    Check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), where, "cannot flush");
    rows_ += static_cast<int64_t>(n);
    return RowRange{static_cast<int64_t>(start), rows_};
  }

  void AppendUnitRecord(const std::string& unit_id, const std::string& record_json) override {
    QuietHdf5();
    const std::string where = Where() + " unit '" + unit_id + "' record";
    if (stage_ != Stage::kOpen) throw ResultsError(where + ": append to a closed or failed shard");
    if (unit_id.empty()) throw ResultsError(where + ": empty unit id");
    const hsize_t start = static_cast<hsize_t>(records_);
    Handle type = VariableStringType(where);
    const char* record = record_json.c_str();
    ExtendAndWrite(records_dataset_.get(), {}, start, 1, type.get(), &record,
                   where + " dataset '/units/record'");
    const char* id = unit_id.c_str();
    ExtendAndWrite(record_ids_.get(), {}, start, 1, type.get(), &id,
                   where + " dataset '/units/unit_id'");
    Check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), where, "cannot flush");
    ++records_;
  }

  int64_t row_count() const override { return rows_; }

  void Close() override {
    QuietHdf5();
    const std::string where = Where();
    switch (stage_) {
      case Stage::kDone:
        return;
      case Stage::kBroken:
        throw ResultsError(where + ": shard is unusable after an earlier failure; data (if "
                           "any) kept in '" + temp_path_ + "'");
      case Stage::kOpen: {
        // Close every object, then the file; a failing H5Fclose means the
        // file may be incomplete, so it is never published.
        columns_.clear();
        tensor_.Reset();
        tensors_group_.Reset();
        unit_ids_.Reset();
        rows_group_.Reset();
        record_ids_.Reset();
        records_dataset_.Reset();
        units_group_.Reset();
        if (file_.Reset() < 0) {
          stage_ = Stage::kBroken;
          FailHdf5(where, "cannot close '" + temp_path_ + "' (kept, not renamed)");
        }
        stage_ = Stage::kHdf5Closed;
      }
        [[fallthrough]];
      case Stage::kHdf5Closed:
        FsyncPath(temp_path_, /*directory=*/false, where);
        RenameNoReplace(temp_path_, final_path_, where);
        stage_ = Stage::kRenamed;
        [[fallthrough]];
      case Stage::kRenamed:
        FsyncPath(ParentDirectory(final_path_), /*directory=*/true, where);
        stage_ = Stage::kDone;
    }
  }

  const std::string& final_path() const override { return final_path_; }
  const std::string& temp_path() const override { return temp_path_; }

 private:
  enum class Stage { kOpen, kHdf5Closed, kRenamed, kDone, kBroken };

  struct ColumnSink {
    std::string name;
    bool is_int = false;
    bool is_text = false;
    Handle dataset;
  };

  static std::string TypeName(bool is_int, bool is_text) {
    return is_text ? "text" : is_int ? "int64" : "float64";
  }

  std::string Where() const { return "shard '" + temp_path_ + "'"; }

  void Abandon() {
    columns_.clear();
    tensor_.Reset();
    tensors_group_.Reset();
    unit_ids_.Reset();
    rows_group_.Reset();
    record_ids_.Reset();
    records_dataset_.Reset();
    units_group_.Reset();
    file_.Reset();
    H5Eclear2(H5E_DEFAULT);
    ::unlink(temp_path_.c_str());
    stage_ = Stage::kBroken;
  }

  // /units with its two empty, extendible string datasets.
  void CreateUnitRecordDatasets(const std::string& where) {
    const std::string ctx = where + " group '/units'";
    units_group_ =
        MakeHandle(H5Gcreate2(file_.get(), kUnitsGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Gclose, ctx, "cannot create group");
    Handle type = VariableStringType(ctx);
    // Variable-length strings live in the global heap: no filters.
    records_dataset_ =
        CreateExtendible(units_group_.get(), kRecordName, type.get(), {}, kRecordChunkRows,
                         /*shuffle=*/false, where + " dataset '/units/record'", /*deflate=*/false);
    record_ids_ =
        CreateExtendible(units_group_.get(), kUnitIdName, type.get(), {}, kRecordChunkRows,
                         /*shuffle=*/false, where + " dataset '/units/unit_id'", /*deflate=*/false);
  }

  static size_t CheckedRows(const RowBatch& batch, const std::string& where) {
    const auto& cols = batch.columns();
    if (cols.empty()) {
      const TensorBlock& t = batch.tensor();
      if (!t.name.empty() && t.RowElements() > 0) {
        return t.data.size() / static_cast<size_t>(t.RowElements());
      }
      return 0;
    }
    const size_t n = cols.front().size();
    for (const Column& c : cols) {
      if (c.size() != n) {
        throw ResultsError(where + ": column '" + c.name + "' has " + std::to_string(c.size()) +
                           " rows but column '" + cols.front().name + "' has " +
                           std::to_string(n));
      }
    }
    return n;
  }

  // Text is written as C strings: a NUL byte would silently cut it.
  static void CheckTexts(const RowBatch& batch, const std::string& where) {
    for (const Column& c : batch.columns()) {
      if (!c.is_text) continue;
      for (size_t i = 0; i < c.texts.size(); ++i) {
        if (c.texts[i].find('\0') == std::string::npos) continue;
        throw ResultsError(where + ": text column '" + c.name + "' row " + std::to_string(i) +
                           " holds a NUL byte (allowed: UTF-8 text without NUL; see ToValidUtf8)");
      }
    }
  }

  static void CheckTensor(const TensorBlock& t, size_t n, const std::string& where) {
    if (t.name.find('/') != std::string::npos || t.name == "." || t.name == "..") {
      throw ResultsError(where + ": invalid tensor name '" + t.name + "'");
    }
    if (t.row_shape.size() + 1 > static_cast<size_t>(kMaxRank)) {
      throw ResultsError(where + ": tensor '" + t.name + "' has too many dimensions");
    }
    for (int64_t d : t.row_shape) {
      if (d <= 0) {
        throw ResultsError(where + ": tensor '" + t.name + "' has invalid row shape " +
                           ShapeText(t.row_shape));
      }
    }
    const size_t expected = n * static_cast<size_t>(t.RowElements());
    if (t.data.size() != expected) {
      throw ResultsError(where + ": tensor '" + t.name + "' has " +
                         std::to_string(t.data.size()) + " values, expected " +
                         std::to_string(n) + " rows x " + std::to_string(t.RowElements()) +
                         " = " + std::to_string(expected));
    }
  }

  void CreateSchema(const RowBatch& batch, const std::string& where) {
    for (const Column& c : batch.columns()) {
      if (c.name.empty() || c.name == kUnitIdName || c.name == "." || c.name == ".." ||
          c.name.find('/') != std::string::npos) {
        throw ResultsError(where + ": invalid column name '" + c.name + "'");
      }
    }
    std::vector<ColumnSink> sinks;
    for (const Column& c : batch.columns()) {
      ColumnSink sink;
      sink.name = c.name;
      sink.is_int = c.is_int;
      sink.is_text = c.is_text;
      const std::string ctx = where + " dataset '/rows/" + c.name + "'";
      if (c.is_text) {
        // Variable-length strings live in the global heap: no filters.
        Handle type = VariableStringType(ctx);
        sink.dataset = CreateExtendible(rows_group_.get(), c.name, type.get(), {},
                                        kTextChunkRows, /*shuffle=*/false, ctx,
                                        /*deflate=*/false);
      } else {
        sink.dataset = CreateExtendible(rows_group_.get(), c.name,
                                        c.is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, {},
                                        kColumnChunkRows, /*shuffle=*/true, ctx);
      }
      sinks.push_back(std::move(sink));
    }
    const TensorBlock& t = batch.tensor();
    Handle tensors_group, tensor;
    if (!t.name.empty()) {
      const std::string ctx = where + " dataset '/tensors/" + t.name + "'";
      tensors_group = MakeHandle(
          H5Gcreate2(file_.get(), kTensorsGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
          where + " group '/tensors'", "cannot create group");
      const size_t row_bytes = static_cast<size_t>(t.RowElements()) * sizeof(float);
      const hsize_t chunk_rows =
          std::max<hsize_t>(1, std::min<hsize_t>(kColumnChunkRows, kTensorChunkBytes / row_bytes));
      std::vector<hsize_t> tail(t.row_shape.begin(), t.row_shape.end());
      tensor = CreateExtendible(tensors_group.get(), t.name, H5T_IEEE_F32LE, tail, chunk_rows,
                                /*shuffle=*/true, ctx);
    }
    columns_ = std::move(sinks);
    tensors_group_ = std::move(tensors_group);
    tensor_ = std::move(tensor);
    tensor_name_ = t.name;
    tensor_shape_ = t.row_shape;
    schema_set_ = true;
  }

  void CheckSchema(const RowBatch& batch, const std::string& where) const {
    std::vector<std::string> expected;
    for (const ColumnSink& s : columns_) expected.push_back(s.name);
    const std::string schema = " (shard columns: " + JoinNames(expected) + ")";
    for (const Column& c : batch.columns()) {
      const ColumnSink* sink = FindSink(c.name);
      if (sink == nullptr) {
        throw ResultsError(where + ": column '" + c.name + "' is not in the shard's schema" +
                           schema);
      }
      if (sink->is_int != c.is_int || sink->is_text != c.is_text) {
        throw ResultsError(where + ": column '" + c.name + "' is " +
                           TypeName(c.is_int, c.is_text) + " but the shard stores " +
                           TypeName(sink->is_int, sink->is_text));
      }
    }
    for (const ColumnSink& s : columns_) {
      if (!batch.Has(s.name)) {
        throw ResultsError(where + ": column '" + s.name + "' is missing from the batch" +
                           schema);
      }
    }
    const TensorBlock& t = batch.tensor();
    if (t.name != tensor_name_) {
      throw ResultsError(where + ": tensor block '" + t.name + "' differs from the shard's '" +
                         tensor_name_ + "'");
    }
    if (!t.name.empty() && t.row_shape != tensor_shape_) {
      throw ResultsError(where + ": tensor '" + t.name + "' has row shape " +
                         ShapeText(t.row_shape) + " but the shard stores " +
                         ShapeText(tensor_shape_));
    }
  }

  const ColumnSink* FindSink(const std::string& name) const {
    for (const ColumnSink& s : columns_) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

  const ColumnSink& Sink(const std::string& name) const {
    const ColumnSink* s = FindSink(name);
    if (s == nullptr) throw ResultsError(Where() + ": no dataset for column '" + name + "'");
    return *s;
  }

  const std::string final_path_;
  const std::string temp_path_;
  Stage stage_ = Stage::kBroken;  // kOpen once Open() succeeds
  Handle file_;
  Handle rows_group_;
  Handle unit_ids_;
  Handle tensors_group_;
  Handle tensor_;
  bool schema_set_ = false;
  std::vector<ColumnSink> columns_;
  std::string tensor_name_;
  std::vector<int64_t> tensor_shape_;
  int64_t rows_ = 0;
  Handle units_group_;
  Handle records_dataset_;
  Handle record_ids_;
  int64_t records_ = 0;
};

// ---------------------------------------------------------------------------
// Readers

Handle OpenShardForRead(const std::string& path) {
  QuietHdf5();
  const std::string where = "shard '" + path + "'";
  if (!PathExists(path, where)) throw ResultsError(where + ": no such file");
  return MakeHandle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, where,
                    "cannot open");
}

Handle OpenDataset(hid_t file, const std::string& name, const std::string& where) {
  const std::string ctx = where + " dataset '" + name + "'";
  const htri_t exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  if (exists < 0) FailHdf5(ctx, "cannot look up");
  if (exists == 0) throw ResultsError(ctx + ": missing");
  return MakeHandle(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, ctx, "cannot open");
}

std::vector<hsize_t> DatasetDims(hid_t dset, const std::string& where) {
  Handle space = MakeHandle(H5Dget_space(dset), H5Sclose, where, "cannot get dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) FailHdf5(where, "cannot get rank");
  std::vector<hsize_t> dims(rank);
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) {
    FailHdf5(where, "cannot get extent");
  }
  return dims;
}

// Reads rows [begin, begin + count) of `dset` (shape [rows, tail...]).
void ReadRows(hid_t dset, const std::vector<hsize_t>& dims, hsize_t begin, hsize_t count,
              hid_t mem_type, void* out, const std::string& where) {
  if (count == 0) return;
  const int rank = static_cast<int>(dims.size());
  std::vector<hsize_t> offset(rank, 0), block(dims);
  offset[0] = begin;
  block[0] = count;
  RowSelection sel = SelectRows(dset, offset, block, where);
  Check(H5Dread(dset, mem_type, sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT, out),
        where, "cannot read rows");
}

// Names of the links in `group`, in creation order when tracked.
std::vector<std::string> LinkNames(hid_t file, const std::string& group,
                                   const std::string& where) {
  const std::string ctx = where + " group '" + group + "'";
  Handle g = MakeHandle(H5Gopen2(file, group.c_str(), H5P_DEFAULT), H5Gclose, ctx,
                        "cannot open group");
  H5G_info_t info;
  Check(H5Gget_info(g.get(), &info), ctx, "cannot get group info");
  H5_index_t index = H5_INDEX_NAME;
  {
    Handle gcpl = MakeHandle(H5Gget_create_plist(g.get()), H5Pclose, ctx,
                             "cannot get group property list");
    unsigned flags = 0;
    Check(H5Pget_link_creation_order(gcpl.get(), &flags), ctx, "cannot get link order");
    if (flags & H5P_CRT_ORDER_TRACKED) index = H5_INDEX_CRT_ORDER;
  }
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) FailHdf5(ctx, "cannot get link name");
    std::string name(static_cast<size_t>(len) + 1, '\0');
    if (H5Lget_name_by_idx(g.get(), ".", index, H5_ITER_INC, i, name.data(), name.size(),
                           H5P_DEFAULT) < 0) {
      FailHdf5(ctx, "cannot get link name");
    }
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

bool LinkExists(hid_t file, const std::string& name, const std::string& where) {
  const htri_t exists = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  if (exists < 0) FailHdf5(where, "cannot look up '" + name + "'");
  return exists > 0;
}

int64_t UnitIdRows(hid_t file, const std::string& where) {
  const std::string name = std::string(kRowsGroup) + "/" + kUnitIdName;
  Handle dset = OpenDataset(file, name, where);
  const std::vector<hsize_t> dims = DatasetDims(dset.get(), where + " dataset '" + name + "'");
  if (dims.size() != 1) {
    throw ResultsError(where + " dataset '" + name + "': expected 1 dimension, got " +
                       std::to_string(dims.size()));
  }
  return static_cast<int64_t>(dims[0]);
}

std::string ReadStringAttribute(hid_t attr, const std::string& where) {
  Handle type = MakeHandle(H5Aget_type(attr), H5Tclose, where, "cannot get type");
  const htri_t is_variable = H5Tis_variable_str(type.get());
  if (is_variable < 0) FailHdf5(where, "cannot inspect string type");
  if (is_variable > 0) {
    Handle mem = MakeHandle(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot copy string type");
    Check(H5Tset_size(mem.get(), H5T_VARIABLE), where, "cannot size string type");
    Check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), where, "cannot set charset");
    char* text = nullptr;
    Check(H5Aread(attr, mem.get(), &text), where, "cannot read");
    std::string value = text != nullptr ? text : "";
    if (text != nullptr) H5free_memory(text);
    return value;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0) FailHdf5(where, "cannot get string size");
  Handle mem = MakeHandle(H5Tcopy(H5T_C_S1), H5Tclose, where, "cannot copy string type");
  Check(H5Tset_size(mem.get(), size), where, "cannot size string type");
  Check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), where, "cannot set padding");
  std::string buffer(size, '\0');
  Check(H5Aread(attr, mem.get(), buffer.data()), where, "cannot read");
  buffer.resize(::strnlen(buffer.data(), size));
  return buffer;
}

}  // namespace

std::unique_ptr<ShardWriter> CreateHdf5Shard(const std::string& final_path,
                                             const ShardAttributes& attrs) {
  QuietHdf5();
  auto writer = std::make_unique<Hdf5ShardWriter>(final_path);
  writer->Open(attrs);
  return writer;
}

RowBatch ReadShardRows(const std::string& path, RowRange range, bool with_tensors) {
  const std::string where = "shard '" + path + "'";
  Handle file = OpenShardForRead(path);
  const int64_t total = UnitIdRows(file.get(), where);
  if (range.begin < 0 || range.end < range.begin || range.end > total) {
    throw ResultsError(where + ": row range [" + std::to_string(range.begin) + ", " +
                       std::to_string(range.end) + ") out of bounds (shard has " +
                       std::to_string(total) + " rows)");
  }
  const hsize_t begin = static_cast<hsize_t>(range.begin);
  const hsize_t count = static_cast<hsize_t>(range.end - range.begin);

  RowBatch batch;
  for (const std::string& name : LinkNames(file.get(), kRowsGroup, where)) {
    const std::string full = std::string(kRowsGroup) + "/" + name;
    const std::string ctx = where + " dataset '" + full + "'";
    Handle dset = OpenDataset(file.get(), full, where);
    const std::vector<hsize_t> dims = DatasetDims(dset.get(), ctx);
    if (dims.size() != 1) {
      throw ResultsError(ctx + ": expected 1 dimension, got " + std::to_string(dims.size()));
    }
    if (dims[0] < static_cast<hsize_t>(range.end)) {
      throw ResultsError(ctx + ": has " + std::to_string(dims[0]) + " rows, fewer than " +
                         std::to_string(range.end));
    }
    Handle type = MakeHandle(H5Dget_type(dset.get()), H5Tclose, ctx, "cannot get type");
    const H5T_class_t cls = H5Tget_class(type.get());
    if (name == kUnitIdName) {
      if (cls != H5T_STRING || H5Tis_variable_str(type.get()) != 0) {
        throw ResultsError(ctx + ": expected a fixed-length string dataset");
      }
      const size_t size = H5Tget_size(type.get());
      Handle mem = UnitIdType(size, ctx);
      std::vector<char> buffer(static_cast<size_t>(count) * size, '\0');
      ReadRows(dset.get(), dims, begin, count, mem.get(), buffer.data(), ctx);
      auto& ids = batch.unit_ids();
      ids.reserve(count);
      for (hsize_t i = 0; i < count; ++i) {
        std::string id(buffer.data() + i * size, size);
        while (!id.empty() && id.back() == '\0') id.pop_back();
        ids.push_back(std::move(id));
      }
    } else if (cls == H5T_STRING) {
      if (H5Tis_variable_str(type.get()) <= 0) {
        throw ResultsError(ctx + ": expected a variable-length string dataset for a text column");
      }
      Handle mem = VariableStringType(ctx);
      std::vector<char*> buffer(static_cast<size_t>(count), nullptr);
      ReadRows(dset.get(), dims, begin, count, mem.get(), buffer.data(), ctx);
      std::vector<std::string> values;
      values.reserve(buffer.size());
      for (char* text : buffer) {
        values.push_back(text != nullptr ? text : "");
        if (text != nullptr) H5free_memory(text);
      }
      batch.AddText(name, std::move(values));
    } else if (cls == H5T_INTEGER) {
      std::vector<int64_t> values(count);
      ReadRows(dset.get(), dims, begin, count, H5T_NATIVE_INT64, values.data(), ctx);
      batch.AddInt(name, std::move(values));
    } else if (cls == H5T_FLOAT) {
      std::vector<double> values(count);
      ReadRows(dset.get(), dims, begin, count, H5T_NATIVE_DOUBLE, values.data(), ctx);
      batch.AddReal(name, std::move(values));
    } else {
      throw ResultsError(ctx + ": unsupported type class (expected integer, float or string)");
    }
  }

  if (with_tensors && LinkExists(file.get(), kTensorsGroup, where)) {
    const std::vector<std::string> names = LinkNames(file.get(), kTensorsGroup, where);
    if (!names.empty()) {
      const std::string full = std::string(kTensorsGroup) + "/" + names.front();
      const std::string ctx = where + " dataset '" + full + "'";
      Handle dset = OpenDataset(file.get(), full, where);
      const std::vector<hsize_t> dims = DatasetDims(dset.get(), ctx);
      if (dims.empty() || dims[0] < static_cast<hsize_t>(range.end)) {
        throw ResultsError(ctx + ": has fewer than " + std::to_string(range.end) + " rows");
      }
      Handle type = MakeHandle(H5Dget_type(dset.get()), H5Tclose, ctx, "cannot get type");
      if (H5Tget_class(type.get()) != H5T_FLOAT) {
        throw ResultsError(ctx + ": expected a float dataset");
      }
      TensorBlock& t = batch.tensor();
      t.name = names.front();
      t.row_shape.assign(dims.begin() + 1, dims.end());
      t.data.resize(static_cast<size_t>(count) * static_cast<size_t>(t.RowElements()));
      ReadRows(dset.get(), dims, begin, count, H5T_NATIVE_FLOAT, t.data.data(), ctx);
    }
  }
  return batch;
}

int64_t ShardRowCount(const std::string& path) {
  Handle file = OpenShardForRead(path);
  return UnitIdRows(file.get(), "shard '" + path + "'");
}

std::vector<StoredUnitRecord> ReadShardUnitRecords(const std::string& path) {
  const std::string where = "shard '" + path + "'";
  Handle file = OpenShardForRead(path);
  std::vector<StoredUnitRecord> records;
  if (!LinkExists(file.get(), kUnitsGroup, where)) return records;
  const std::string ids_name = std::string(kUnitsGroup) + "/" + kUnitIdName;
  const std::string records_name = std::string(kUnitsGroup) + "/" + kRecordName;
  Handle ids = OpenDataset(file.get(), ids_name, where);
  Handle texts = OpenDataset(file.get(), records_name, where);
  const std::vector<hsize_t> id_dims =
      DatasetDims(ids.get(), where + " dataset '" + ids_name + "'");
  const std::vector<hsize_t> text_dims =
      DatasetDims(texts.get(), where + " dataset '" + records_name + "'");
  if (id_dims.size() != 1 || text_dims.size() != 1) {
    throw ResultsError(where + ": /units datasets must have 1 dimension");
  }
  // unit_id is written last: its extent counts the complete records.
  const hsize_t n = id_dims[0];
  if (text_dims[0] < n) {
    throw ResultsError(where + " dataset '" + records_name + "': has " +
                       std::to_string(text_dims[0]) + " records but '" + ids_name + "' has " +
                       std::to_string(n));
  }
  const auto read_strings = [&](hid_t dset, const std::vector<hsize_t>& dims,
                                const std::string& ctx) {
    Handle type = MakeHandle(H5Dget_type(dset), H5Tclose, ctx, "cannot get type");
    if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0) {
      throw ResultsError(ctx + ": expected a variable-length string dataset");
    }
    Handle mem = VariableStringType(ctx);
    std::vector<char*> buffer(static_cast<size_t>(n), nullptr);
    ReadRows(dset, dims, 0, n, mem.get(), buffer.data(), ctx);
    std::vector<std::string> out;
    out.reserve(buffer.size());
    for (char* s : buffer) {
      out.push_back(s != nullptr ? s : "");
      if (s != nullptr) H5free_memory(s);
    }
    return out;
  };
  const std::vector<std::string> id_text =
      read_strings(ids.get(), id_dims, where + " dataset '" + ids_name + "'");
  const std::vector<std::string> record_text =
      read_strings(texts.get(), text_dims, where + " dataset '" + records_name + "'");
  records.reserve(id_text.size());
  for (size_t i = 0; i < id_text.size(); ++i) records.push_back({id_text[i], record_text[i]});
  return records;
}

ShardAttributes ReadShardAttributes(const std::string& path) {
  const std::string where = "shard '" + path + "'";
  Handle file = OpenShardForRead(path);
  H5O_info_t info;
  Check(H5Oget_info2(file.get(), &info, H5O_INFO_NUM_ATTRS), where, "cannot get root info");
  ShardAttributes attrs;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    Handle attr = MakeHandle(H5Aopen_by_idx(file.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i,
                                            H5P_DEFAULT, H5P_DEFAULT),
                             H5Aclose, where, "cannot open attribute #" + std::to_string(i));
    const ssize_t len = H5Aget_name(attr.get(), 0, nullptr);
    if (len < 0) FailHdf5(where, "cannot get attribute name");
    std::string name(static_cast<size_t>(len) + 1, '\0');
    if (H5Aget_name(attr.get(), name.size(), name.data()) < 0) {
      FailHdf5(where, "cannot get attribute name");
    }
    name.resize(static_cast<size_t>(len));
    const std::string ctx = where + " attribute '" + name + "'";
    Handle type = MakeHandle(H5Aget_type(attr.get()), H5Tclose, ctx, "cannot get type");
    if (H5Tget_class(type.get()) != H5T_STRING) continue;  // not ours; skip
    Handle space = MakeHandle(H5Aget_space(attr.get()), H5Sclose, ctx, "cannot get dataspace");
    if (H5Sget_simple_extent_npoints(space.get()) != 1) continue;
    attrs[name] = ReadStringAttribute(attr.get(), ctx);
  }
  return attrs;
}

}  // namespace effrobust
