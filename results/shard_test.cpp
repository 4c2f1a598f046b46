#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "results/row_batch.h"
#include "results/shard.h"

namespace effrobust {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/effrobust_shard_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // A batch of `n` rows: exit (int), flops (real), sample (int), and a
  // 1x2x3 tensor block whose values encode (first + row, element).
  static RowBatch MakeBatch(int64_t first, size_t n, bool with_tensor = true) {
    RowBatch b;
    std::vector<int64_t> exits, samples;
    std::vector<double> flops;
    for (size_t i = 0; i < n; ++i) {
      const int64_t row = first + static_cast<int64_t>(i);
      samples.push_back(row);
      exits.push_back(row % 5);
      flops.push_back(0.5 * static_cast<double>(row) + 0.125);
    }
    b.AddInt("sample", samples);
    b.AddReal("flops", flops);
    b.AddInt("exit", exits);
    if (with_tensor) {
      b.tensor().name = "adversarial";
      b.tensor().row_shape = {1, 2, 3};
      for (size_t i = 0; i < n; ++i) {
        for (int e = 0; e < 6; ++e) {
          b.tensor().data.push_back(static_cast<float>(first + static_cast<int64_t>(i)) +
                                    0.01f * static_cast<float>(e));
        }
      }
    }
    return b;
  }

  std::string dir_;
};

TEST_F(ShardTest, AppendThenReadRoundTripsAllColumns) {
  const std::string path = Path("rank1.h5");
  auto w = CreateHdf5Shard(path, {{"run", "7"}});
  const RowRange a = w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 3));
  const RowRange b = w->Append("bbbbbbbbbbbbbbbb", MakeBatch(3, 4));
  EXPECT_EQ(a.begin, 0);
  EXPECT_EQ(a.end, 3);
  EXPECT_EQ(b.begin, 3);
  EXPECT_EQ(b.end, 7);
  EXPECT_EQ(w->row_count(), 7);
  w->Close();

  EXPECT_EQ(ShardRowCount(path), 7);
  RowBatch got = ReadShardRows(path, {0, 7}, /*with_tensors=*/true);
  ASSERT_EQ(got.rows(), 7u);
  ASSERT_EQ(got.columns().size(), 3u);
  // Columns come back in the order they were written.
  EXPECT_EQ(got.columns()[0].name, "sample");
  EXPECT_EQ(got.columns()[1].name, "flops");
  EXPECT_EQ(got.columns()[2].name, "exit");
  EXPECT_TRUE(got.Get("sample").is_int);
  EXPECT_FALSE(got.Get("flops").is_int);
  EXPECT_TRUE(got.Get("exit").is_int);
  const RowBatch expected = MakeBatch(0, 7);
  EXPECT_EQ(got.Get("sample").ints, expected.Get("sample").ints);
  EXPECT_EQ(got.Get("exit").ints, expected.Get("exit").ints);
  EXPECT_EQ(got.Get("flops").reals, expected.Get("flops").reals);
  const std::vector<std::string> ids = {"aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa",
                                        "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb",
                                        "bbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbb",
                                        "bbbbbbbbbbbbbbbb"};
  EXPECT_EQ(got.unit_ids(), ids);
  EXPECT_EQ(got.tensor().name, "adversarial");
  EXPECT_EQ(got.tensor().row_shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(got.tensor().data, expected.tensor().data);
}

TEST_F(ShardTest, ReadsSubrangeAndSkipsTensorsUnlessRequested) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("0123456789abcdef", MakeBatch(0, 10));
  w->Close();

  RowBatch got = ReadShardRows(path, {2, 5});
  ASSERT_EQ(got.rows(), 3u);
  EXPECT_EQ(got.Get("sample").ints, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(got.Get("flops").reals, (std::vector<double>{1.125, 1.625, 2.125}));
  EXPECT_TRUE(got.tensor().name.empty());
  EXPECT_TRUE(got.tensor().data.empty());

  RowBatch with = ReadShardRows(path, {9, 10}, /*with_tensors=*/true);
  ASSERT_EQ(with.tensor().data.size(), 6u);
  EXPECT_FLOAT_EQ(with.tensor().data[0], 9.0f);
  EXPECT_FLOAT_EQ(with.tensor().data[5], 9.05f);

  RowBatch empty = ReadShardRows(path, {4, 4}, /*with_tensors=*/true);
  EXPECT_EQ(empty.rows(), 0u);
  EXPECT_EQ(empty.columns().size(), 3u);
}

TEST_F(ShardTest, ShortUnitIdsAreTrimmedOfPadding) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("u1", MakeBatch(0, 2, false));
  w->Close();
  RowBatch got = ReadShardRows(path, {0, 2});
  EXPECT_EQ(got.unit_ids(), (std::vector<std::string>{"u1", "u1"}));
}

TEST_F(ShardTest, RejectsUnitIdLongerThan16Chars) {
  auto w = CreateHdf5Shard(Path("s.h5"), {});
  EXPECT_THROW(w->Append("0123456789abcdef0", MakeBatch(0, 1)), ResultsError);
  EXPECT_THROW(w->Append("", MakeBatch(0, 1)), ResultsError);
  EXPECT_EQ(w->row_count(), 0);
}

TEST_F(ShardTest, LargeAppendsSpanManyChunks) {
  const std::string path = Path("big.h5");
  auto w = CreateHdf5Shard(path, {});
  const size_t n = 40000;  // many column chunks of 1024 rows
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, n, false));
  w->Append("bbbbbbbbbbbbbbbb", MakeBatch(static_cast<int64_t>(n), n, false));
  w->Close();
  ASSERT_EQ(ShardRowCount(path), static_cast<int64_t>(2 * n));
  RowBatch got = ReadShardRows(path, {16380, 56390});
  ASSERT_EQ(got.rows(), 40010u);
  for (size_t i = 0; i < got.rows(); ++i) {
    ASSERT_EQ(got.Get("sample").ints[i], static_cast<int64_t>(16380 + i)) << "row " << i;
  }
  EXPECT_EQ(got.unit_ids().front(), "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(got.unit_ids().back(), "bbbbbbbbbbbbbbbb");
}

TEST_F(ShardTest, FileLivesUnderTmpNameUntilClose) {
  const std::string path = Path("rank0.h5");
  auto w = CreateHdf5Shard(path, {});
  EXPECT_EQ(w->final_path(), path);
  EXPECT_EQ(w->temp_path(), path + ".tmp");
  EXPECT_TRUE(Exists(path + ".tmp"));
  EXPECT_FALSE(Exists(path));
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 5));
  EXPECT_TRUE(Exists(path + ".tmp"));
  EXPECT_FALSE(Exists(path));
  w->Close();
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_TRUE(Exists(path));
  EXPECT_EQ(ShardRowCount(path), 5);
}

TEST_F(ShardTest, AppendedRowsAreReadableBeforeClose) {
  // Append flushes: a copy of the temporary file taken mid-run (as after a
  // crash) already holds the appended rows.
  const std::string path = Path("rank0.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 5));
  const std::string copy = Path("copy.h5");
  std::filesystem::copy_file(w->temp_path(), copy);
  EXPECT_EQ(ShardRowCount(copy), 5);
  EXPECT_EQ(ReadShardRows(copy, {0, 5}).Get("sample").ints,
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  w->Close();
}

TEST_F(ShardTest, CloseIsIdempotentAndAppendAfterCloseFails) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 2));
  w->Close();
  EXPECT_NO_THROW(w->Close());
  EXPECT_THROW(w->Append("aaaaaaaaaaaaaaaa", MakeBatch(2, 2)), ResultsError);
  EXPECT_EQ(ShardRowCount(path), 2);
}

TEST_F(ShardTest, DestructorClosesAndRenames) {
  const std::string path = Path("s.h5");
  {
    auto w = CreateHdf5Shard(path, {});
    w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 3));
  }
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_EQ(ShardRowCount(path), 3);
}

TEST_F(ShardTest, EmptyShardHasZeroRows) {
  const std::string path = Path("empty.h5");
  CreateHdf5Shard(path, {})->Close();
  EXPECT_EQ(ShardRowCount(path), 0);
  EXPECT_EQ(ReadShardRows(path, {0, 0}).rows(), 0u);
}

TEST_F(ShardTest, RefusesToOverwriteExistingShard) {
  const std::string path = Path("s.h5");
  {
    std::ofstream(path) << "precious";
  }
  EXPECT_THROW(CreateHdf5Shard(path, {}), ResultsError);
  EXPECT_EQ(Slurp(path), "precious");
  EXPECT_FALSE(Exists(path + ".tmp"));

  const std::string other = Path("t.h5");
  {
    std::ofstream(other + ".tmp") << "partial";
  }
  try {
    CreateHdf5Shard(other, {});
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find(other + ".tmp"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Slurp(other + ".tmp"), "partial");
  EXPECT_FALSE(Exists(other));
}

TEST_F(ShardTest, CloseDoesNotReplaceFinalFileCreatedMeanwhile) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 1));
  {
    std::ofstream(path) << "precious";
  }
  EXPECT_THROW(w->Close(), ResultsError);
  EXPECT_EQ(Slurp(path), "precious");
  EXPECT_TRUE(Exists(path + ".tmp"));  // the data is kept
}

TEST_F(ShardTest, CreateFailsWhenDirectoryIsMissing) {
  EXPECT_THROW(CreateHdf5Shard(Path("no/such/dir/s.h5"), {}), ResultsError);
}

TEST_F(ShardTest, RejectsBatchWithDifferentColumns) {
  struct Case {
    std::string name;
    std::function<RowBatch()> make;
    std::string mentions;  // text the error must contain
  };
  const std::vector<Case> cases = {
      {"extra column",
       [] {
         RowBatch b = MakeBatch(0, 2);
         b.AddReal("latency", {1.0, 2.0});
         return b;
       },
       "'latency'"},
      {"missing column",
       [] {
         RowBatch b;
         b.AddInt("sample", {0, 1});
         b.AddReal("flops", {0.0, 1.0});
         b.tensor() = MakeBatch(0, 2).tensor();
         return b;
       },
       "'exit'"},
      {"changed type",
       [] {
         RowBatch b;
         b.AddInt("sample", {0, 1});
         b.AddInt("flops", {0, 1});
         b.AddInt("exit", {0, 1});
         b.tensor() = MakeBatch(0, 2).tensor();
         return b;
       },
       "'flops'"},
      {"changed tensor shape",
       [] {
         RowBatch b = MakeBatch(0, 2);
         b.tensor().row_shape = {6};
         return b;
       },
       "'adversarial'"},
      {"missing tensor",
       [] { return MakeBatch(0, 2, /*with_tensor=*/false); },
       "tensor"},
      {"columns of different lengths",
       [] {
         RowBatch b = MakeBatch(0, 2);
         b.AddInt("extra", {1});
         return b;
       },
       "'extra'"},
      {"tensor with wrong number of values",
       [] {
         RowBatch b = MakeBatch(0, 2);
         b.tensor().data.pop_back();
         return b;
       },
       "'adversarial'"},
  };
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 2));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      w->Append("bbbbbbbbbbbbbbbb", c.make());
      ADD_FAILURE() << "expected ResultsError";
    } catch (const ResultsError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.mentions), std::string::npos) << what;
      EXPECT_NE(what.find("bbbbbbbbbbbbbbbb"), std::string::npos) << what;
      EXPECT_NE(what.find(path), std::string::npos) << what;
    }
  }
  // Rejected batches leave the shard untouched and usable.
  EXPECT_EQ(w->row_count(), 2);
  const RowRange r = w->Append("cccccccccccccccc", MakeBatch(2, 1));
  EXPECT_EQ(r.begin, 2);
  EXPECT_EQ(r.end, 3);
  w->Close();
  EXPECT_EQ(ShardRowCount(path), 3);
}

TEST_F(ShardTest, AcceptsSameColumnsInAnotherOrder) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 2, false));
  RowBatch b;
  b.AddInt("exit", {7});
  b.AddInt("sample", {2});
  b.AddReal("flops", {0.25});
  w->Append("bbbbbbbbbbbbbbbb", b);
  w->Close();
  RowBatch got = ReadShardRows(path, {2, 3});
  EXPECT_EQ(got.Get("exit").ints, (std::vector<int64_t>{7}));
  EXPECT_EQ(got.Get("sample").ints, (std::vector<int64_t>{2}));
  EXPECT_EQ(got.Get("flops").reals, (std::vector<double>{0.25}));
}

TEST_F(ShardTest, ReadRangeOutOfBoundsIsError) {
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 4));
  w->Close();
  const std::vector<RowRange> bad = {{0, 5}, {-1, 2}, {3, 2}, {5, 6}};
  for (const RowRange& r : bad) {
    SCOPED_TRACE(std::to_string(r.begin) + ".." + std::to_string(r.end));
    try {
      ReadShardRows(path, r);
      ADD_FAILURE() << "expected ResultsError";
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("out of bounds"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(ReadShardRows(path, {0, 4}));
}

TEST_F(ShardTest, MissingOrCorruptFileIsErrorNamingPath) {
  const std::string missing = Path("missing.h5");
  for (auto read : std::vector<std::function<void(const std::string&)>>{
           [](const std::string& p) { ReadShardRows(p, {0, 0}); },
           [](const std::string& p) { ShardRowCount(p); },
           [](const std::string& p) { ReadShardAttributes(p); }}) {
    try {
      read(missing);
      ADD_FAILURE() << "expected ResultsError";
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
  }
  const std::string garbage = Path("garbage.h5");
  {
    std::ofstream(garbage) << "not an hdf5 file";
  }
  EXPECT_THROW(ShardRowCount(garbage), ResultsError);
}

TEST_F(ShardTest, AttributesRoundTripWithFormat) {
  const std::string path = Path("s.h5");
  ShardAttributes attrs = {{"run_id", "3"}, {"rank", "2"}, {"host", "node-7"}, {"empty", ""}};
  CreateHdf5Shard(path, attrs)->Close();
  ShardAttributes got = ReadShardAttributes(path);
  attrs["format"] = "effrobust-shard-1";
  EXPECT_EQ(got, attrs);
}

TEST_F(ShardTest, ShardIsReadableByH5dump) {
  if (std::system("command -v h5dump >/dev/null 2>&1") != 0) GTEST_SKIP() << "no h5dump";
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {{"run_id", "1"}});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 3));
  w->AppendUnitRecord("aaaaaaaaaaaaaaaa", "{\"n\":3}");
  w->Close();
  const std::string out = Path("dump.txt");
  const int rc = std::system(("h5dump -H '" + path + "' > '" + out + "' 2>&1").c_str());
  EXPECT_EQ(rc, 0) << Slurp(out);
  const std::string dump = Slurp(out);
  EXPECT_NE(dump.find("H5T_STD_I64LE"), std::string::npos) << dump;
  EXPECT_NE(dump.find("H5T_IEEE_F64LE"), std::string::npos) << dump;
  EXPECT_NE(dump.find("H5T_IEEE_F32LE"), std::string::npos) << dump;
  EXPECT_NE(dump.find("GROUP \"tensors\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("GROUP \"units\""), std::string::npos) << dump;
  const int record_rc =
      std::system(("h5dump -d /units/record '" + path + "' > '" + out + "' 2>&1").c_str());
  EXPECT_EQ(record_rc, 0) << Slurp(out);
  EXPECT_NE(Slurp(out).find("\"{\"n\":3}\""), std::string::npos) << Slurp(out);
  const int attr_rc =
      std::system(("h5dump -a /format '" + path + "' > '" + out + "' 2>&1").c_str());
  EXPECT_EQ(attr_rc, 0) << Slurp(out);
  EXPECT_NE(Slurp(out).find("effrobust-shard-1"), std::string::npos) << Slurp(out);
}

TEST_F(ShardTest, ShardIsReadableByH5py) {
  // Debian's python3-h5py lives in the system interpreter, which may not be
  // the first python3 on PATH.
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(candidate) + " -c 'import h5py' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "no python3 with h5py";
  const std::string path = Path("s.h5");
  auto w = CreateHdf5Shard(path, {{"run_id", "1"}});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 3));
  w->Append("b", MakeBatch(3, 1));
  w->AppendUnitRecord("b", "{\"n\":1}");
  w->Close();
  const std::string script = Path("check.py");
  {
    std::ofstream(script)
        << "import sys, h5py\n"
           "f = h5py.File(sys.argv[1], 'r')\n"
           "a = f.attrs['format']\n"
           "assert (a.decode() if isinstance(a, bytes) else a) == 'effrobust-shard-1', a\n"
           "assert list(f['rows/sample'][:]) == [0, 1, 2, 3]\n"
           "assert list(f['rows/flops'][:]) == [0.125, 0.625, 1.125, 1.625]\n"
           "assert f['rows/unit_id'][0] == b'aaaaaaaaaaaaaaaa', f['rows/unit_id'][0]\n"
           "assert f['rows/unit_id'][3] == b'b', f['rows/unit_id'][3]\n"
           "assert f['tensors/adversarial'].shape == (4, 1, 2, 3)\n"
           "assert f['rows/sample'].compression == 'gzip'\n"
           "assert f['rows/sample'].shuffle\n"
           "assert f['rows/sample'].maxshape == (None,)\n"
           "r = f['units/record'][0]\n"
           "assert (r.decode() if isinstance(r, bytes) else r) == '{\"n\":1}', r\n"
           "u = f['units/unit_id'][0]\n"
           "assert (u.decode() if isinstance(u, bytes) else u) == 'b', u\n";
  }
  const std::string out = Path("py.txt");
  const int rc =
      std::system((python + " '" + script + "' '" + path + "' > '" + out + "' 2>&1").c_str());
  EXPECT_EQ(rc, 0) << Slurp(out);
}

TEST_F(ShardTest, UnitRecordsRoundTripInAppendOrder) {
  const std::string path = Path("r.h5");
  auto w = CreateHdf5Shard(path, {{"run_id", "1"}});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 2));
  w->AppendUnitRecord("aaaaaaaaaaaaaaaa", "{\"n\":1}");
  w->Append("b", MakeBatch(2, 1));
  const std::string long_record(200000, 'x');
  w->AppendUnitRecord("b", long_record);
  w->AppendUnitRecord("a-longer-id-than-16-chars", "{\"text\":\"caf\xc3\xa9 \\n\"}");
  w->AppendUnitRecord("empty", "");
  w->Close();
  const std::vector<StoredUnitRecord> records = ReadShardUnitRecords(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].unit_id, "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(records[0].record_json, "{\"n\":1}");
  EXPECT_EQ(records[1].unit_id, "b");
  EXPECT_EQ(records[1].record_json, long_record);
  EXPECT_EQ(records[2].unit_id, "a-longer-id-than-16-chars");
  EXPECT_EQ(records[2].record_json, "{\"text\":\"caf\xc3\xa9 \\n\"}");
  EXPECT_EQ(records[3].record_json, "");
  EXPECT_EQ(ShardRowCount(path), 3);  // records are not rows
}

TEST_F(ShardTest, UnitRecordIsOnDiskWhenAppendReturns) {
  // Like rows, a record is flushed before AppendUnitRecord returns: a copy
  // of the temporary file taken mid-run holds it.
  const std::string path = Path("rank0.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 5));
  w->AppendUnitRecord("aaaaaaaaaaaaaaaa", "{\"unit\":\"a\"}");
  const std::string copy = Path("copy.h5");
  std::filesystem::copy_file(w->temp_path(), copy);
  const std::vector<StoredUnitRecord> records = ReadShardUnitRecords(copy);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record_json, "{\"unit\":\"a\"}");
  w->Close();
}

TEST_F(ShardTest, ShardWithoutRecordsHasNone) {
  const std::string path = Path("e.h5");
  CreateHdf5Shard(path, {})->Close();
  EXPECT_TRUE(ReadShardUnitRecords(path).empty());
  EXPECT_THROW(ReadShardUnitRecords(Path("missing.h5")), ResultsError);
}

TEST_F(ShardTest, UnitRecordNeedsAnIdAndAnOpenShard) {
  const std::string path = Path("c.h5");
  auto w = CreateHdf5Shard(path, {});
  EXPECT_THROW(w->AppendUnitRecord("", "{}"), ResultsError);
  w->Close();
  EXPECT_THROW(w->AppendUnitRecord("a", "{}"), ResultsError);
  EXPECT_TRUE(ReadShardUnitRecords(path).empty());
}

// ---- text columns (decoder outputs) ----

RowBatch TextBatch(const std::vector<std::string>& texts, int64_t first) {
  RowBatch b;
  std::vector<int64_t> samples;
  for (size_t i = 0; i < texts.size(); ++i) samples.push_back(first + static_cast<int64_t>(i));
  b.AddInt("sample", samples);
  b.AddText("text_adv", texts);
  return b;
}

TEST_F(ShardTest, TextColumnsRoundTripAsUtf8) {
  const std::string path = Path("t.h5");
  const std::vector<std::string> first = {"a shirt and two bags", "", "haus \xC3\xBC\xC3\x9F"};
  const std::vector<std::string> second = {std::string(5000, 'x')};
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", TextBatch(first, 0));
  w->Append("bbbbbbbbbbbbbbbb", TextBatch(second, 3));
  w->Close();
  RowBatch all = ReadShardRows(path, {0, 4});
  ASSERT_EQ(all.rows(), 4u);
  const Column& text = all.Get("text_adv");
  EXPECT_TRUE(text.is_text);
  EXPECT_FALSE(text.is_int);
  std::vector<std::string> expected = first;
  expected.push_back(second[0]);
  EXPECT_EQ(text.texts, expected);
  EXPECT_EQ(ReadShardRows(path, {2, 3}).Get("text_adv").texts, (std::vector<std::string>{first[2]}));
  EXPECT_EQ(ReadShardRows(path, {1, 1}).Get("text_adv").texts.size(), 0u);
}

TEST_F(ShardTest, TextColumnKeepsItsTypeAndRefusesNulBytes) {
  const std::string path = Path("t.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", TextBatch({"one"}, 0));
  RowBatch as_real;
  as_real.AddInt("sample", {1});
  as_real.AddReal("text_adv", {1.0});
  try {
    w->Append("bbbbbbbbbbbbbbbb", as_real);
    ADD_FAILURE() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("'text_adv' is float64 but the shard stores text"),
              std::string::npos)
        << e.what();
  }
  try {
    w->Append("cccccccccccccccc", TextBatch({std::string("a\0b", 3)}, 1));
    ADD_FAILURE() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("text column 'text_adv' row 0 holds a NUL byte"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(w->Append("dddddddddddddddd", TextBatch({"two"}, 1)).end, 2);
  w->Close();
  EXPECT_EQ(ReadShardRows(path, {0, 2}).Get("text_adv").texts,
            (std::vector<std::string>{"one", "two"}));
}

TEST_F(ShardTest, TextColumnIsAVariableLengthUtf8StringForH5dump) {
  if (std::system("command -v h5dump >/dev/null 2>&1") != 0) GTEST_SKIP() << "no h5dump";
  const std::string path = Path("t.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", TextBatch({"a bag"}, 0));
  w->Close();
  const std::string out = Path("dump.txt");
  ASSERT_EQ(std::system(("h5dump -d /rows/text_adv '" + path + "' > '" + out + "' 2>&1").c_str()),
            0)
      << Slurp(out);
  const std::string dump = Slurp(out);
  EXPECT_NE(dump.find("STRSIZE H5T_VARIABLE"), std::string::npos) << dump;
  EXPECT_NE(dump.find("CSET H5T_CSET_UTF8"), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"a bag\""), std::string::npos) << dump;
}

// Shards written before text columns existed (numbers only) read as
// before: every shard test above without AddText covers them; a batch read
// from such a shard has no text column.
TEST_F(ShardTest, ShardWithoutTextColumnsReadsWithoutThem) {
  const std::string path = Path("old.h5");
  auto w = CreateHdf5Shard(path, {});
  w->Append("aaaaaaaaaaaaaaaa", MakeBatch(0, 2, false));
  w->Close();
  for (const Column& c : ReadShardRows(path, {0, 2}).columns()) EXPECT_FALSE(c.is_text) << c.name;
}

struct Utf8Case {
  std::string in, out;
};

TEST(ToValidUtf8Test, KeepsValidTextAndReplacesBrokenBytes) {
  const std::string r = "\xEF\xBF\xBD";
  const std::vector<Utf8Case> cases = {
      {"plain ascii", "plain ascii"},
      {"", ""},
      {"gr\xC3\xBC\xC3\x9F", "gr\xC3\xBC\xC3\x9F"},          // grüß
      {"\xE2\x82\xAC and \xF0\x9F\x98\x80", "\xE2\x82\xAC and \xF0\x9F\x98\x80"},
      {"a\xC3", "a" + r},                                      // cut sequence at the end
      {"\xC3(", r + "("},                                      // bad continuation
      {"\xBC", r},                                             // lone continuation byte
      {"\xC0\xAF", r + r},                                     // overlong
      {"\xED\xA0\x80", r + r + r},                             // surrogate
      {std::string("a\0b", 3), "a" + r + "b"},                // NUL
  };
  for (const auto& c : cases) EXPECT_EQ(ToValidUtf8(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace effrobust
