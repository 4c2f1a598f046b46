// SQLite implementation of the result index (see results/index.h).
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/value.h"
#include "results/index.h"
#include "results/sqlite_journal.h"

namespace effrobust {
namespace {

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL DEFAULT '',
  config_text   TEXT,
  config_hash   TEXT,
  git_commit    TEXT,
  torch_version TEXT,
  host          TEXT,
  ranks         INTEGER,
  started_at    REAL,
  ended_at      REAL,
  status        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
  unit_id      TEXT PRIMARY KEY NOT NULL,
  run_id       INTEGER REFERENCES runs(run_id),
  model        TEXT NOT NULL,
  dataset      TEXT NOT NULL,
  split        TEXT NOT NULL,
  sample_begin INTEGER NOT NULL,
  sample_end   INTEGER NOT NULL,
  attack       TEXT NOT NULL,
  params_json  TEXT NOT NULL,
  seed         INTEGER NOT NULL,
  spec_json    TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  worker_rank  INTEGER,
  host         TEXT,
  started_at   REAL,
  finished_at  REAL,
  wall_seconds REAL,
  shard_file   TEXT,
  row_begin    INTEGER,
  row_end      INTEGER,
  summary_json TEXT,
  error        TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
  unit_id TEXT NOT NULL REFERENCES units(unit_id),
  name    TEXT NOT NULL,
  value   REAL,
  PRIMARY KEY (unit_id, name)
);
CREATE TABLE IF NOT EXISTS models (
  name          TEXT PRIMARY KEY NOT NULL,
  path          TEXT,
  arch          TEXT,
  dataset       TEXT,
  metadata_json TEXT,
  registered_at REAL
);
CREATE INDEX IF NOT EXISTS units_by_status ON units(status);
CREATE INDEX IF NOT EXISTS units_by_run ON units(run_id);
CREATE INDEX IF NOT EXISTS units_by_order
  ON units(model, dataset, sample_begin, attack, params_json);
CREATE INDEX IF NOT EXISTS metrics_by_name ON metrics(name, value);
)sql";

constexpr char kUnitColumns[] =
    "unit_id, model, dataset, split, sample_begin, sample_end, attack, params_json, seed, "
    "spec_json, status, attempts, run_id, worker_rank, host, started_at, finished_at, "
    "wall_seconds, shard_file, row_begin, row_end, error";

// Columns added after the first schema, appended to existing tables by
// AddMissingColumns (new databases get them the same way).
struct AddedColumn {
  const char* table;
  const char* name;
  const char* declaration;
};
constexpr AddedColumn kAddedColumns[] = {
    {"runs", "slurm_job_id", "TEXT"},
    {"runs", "slurm_restart_count", "INTEGER NOT NULL DEFAULT 0"},
    {"units", "device", "TEXT"},
    {"units", "device_name", "TEXT"},
    {"units", "failures", "INTEGER NOT NULL DEFAULT 0"},
    {"units", "interruptions", "INTEGER NOT NULL DEFAULT 0"},
};

// JSON object of the metrics; non-finite values (not representable in JSON)
// become null.
std::string SummaryJson(const std::map<std::string, double>& metrics) {
  std::string out = "{";
  for (const auto& [name, value] : metrics) {
    if (out.size() > 1) out += ",";
    out += JsonQuote(name) + ":" + (std::isfinite(value) ? FormatNumber(value) : "null");
  }
  return out + "}";
}

// The directory holding `path` (where SQLite puts its journal files).
std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// "file:<path>?immutable=1" with the URI's special characters escaped.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (const unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      uri += buf;
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

// One connection with a cache of prepared statements.
// True if the SQLite file at `path` is in WAL mode by its header (false if
// it cannot be read).
bool FileHeaderSaysWal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[20] = {};
  if (!in.read(header, sizeof(header))) return false;
  return header[18] == 2 && header[19] == 2;
}

class Connection {
 public:
  Connection(const std::string& path, bool read_only) : path_(path), read_only_(read_only) {
    const std::string where = Where();
    if (read_only) {
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        throw ResultsError(where + ": cannot open read-only: " + std::strerror(errno));
      }
    }
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    std::string target = path;
    // A read-only connection to a WAL database creates "-wal" and "-shm"
    // files and leaves them behind. Without a "-wal" file there is no writer
    // and every committed row is in the main file, so open it immutable:
    // reading then writes nothing into the run directory. Never in rollback
    // (DELETE) mode: there a live writer has no "-wal" file, and an
    // immutable reader would read its commits without locks.
    // Whether the file is in WAL mode is read from its own header (bytes 18
    // and 19 are 2 in WAL mode, 1 in rollback mode), not guessed from the
    // environment: an index written in DELETE mode on a filesystem that
    // would default to WAL must still be read with locks.
    struct stat wal;
    if (read_only && FileHeaderSaysWal(path) && ::stat((path + "-wal").c_str(), &wal) != 0 &&
        errno == ENOENT && ::stat((path + "-journal").c_str(), &wal) != 0 && errno == ENOENT) {
      target = ImmutableUri(path);
      flags |= SQLITE_OPEN_URI;
    }
    const int rc = sqlite3_open_v2(target.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw ResultsError(where + ": cannot open: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kIndexBusyTimeoutMs);
  }

  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  std::string Where() const { return "index '" + path_ + "'"; }

  [[noreturn]] void Fail(const std::string& where, const std::string& what) const {
    throw ResultsError(where + ": " + what + ": " + ErrorText());
  }

  // SQLite's message for the last error, with a hint for a hot journal.
  std::string ErrorText() const {
    std::string text = sqlite3_errmsg(db_);
    if (sqlite3_extended_errcode(db_) == SQLITE_READONLY_ROLLBACK) text += HotJournalHint(path_);
    return text;
  }

  // Runs one or more statements without parameters.
  void Exec(const std::string& sql, const std::string& where) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
      if (sqlite3_extended_errcode(db_) == SQLITE_READONLY_ROLLBACK) {
        message += HotJournalHint(path_);
      }
      sqlite3_free(error);
      throw ResultsError(where + ": " + message);
    }
  }

  // Text of the first column of the first row of `sql` ("" if none).
  std::string QueryText(const std::string& sql, const std::string& where) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      Fail(where, "cannot prepare '" + sql + "'");
    }
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    } else if (rc != SQLITE_DONE) {
      std::string message = ErrorText();
      sqlite3_finalize(stmt);
      throw ResultsError(where + ": '" + sql + "' failed: " + message);
    }
    sqlite3_finalize(stmt);
    return out;
  }

  // A cached prepared statement (reset and unbound).
  sqlite3_stmt* Prepare(const std::string& sql, const std::string& where) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      Fail(where, "cannot prepare statement");
    }
    cache_.emplace(sql, stmt);
    return stmt;
  }

 private:
  std::string path_;
  bool read_only_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Binds parameters and steps a cached statement; resets it when destroyed.
class Statement {
 public:
  Statement(Connection* conn, const std::string& sql, std::string where)
      : conn_(conn), stmt_(conn->Prepare(sql, where)), where_(std::move(where)) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int i, const std::string& v) {
    return Checked(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                                     SQLITE_TRANSIENT));
  }
  Statement& Bind(int i, int64_t v) { return Checked(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& Bind(int i, int v) { return Checked(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& Bind(int i, double v) { return Checked(sqlite3_bind_double(stmt_, i, v)); }
  Statement& BindNull(int i) { return Checked(sqlite3_bind_null(stmt_, i)); }

  // Steps once; true if a row is available.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    conn_->Fail(where_, "statement failed");
  }

  // Runs a statement that returns no rows; returns the number of changed rows.
  int Run() {
    while (Step()) {
    }
    return sqlite3_changes(conn_->db());
  }

  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    if (t == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(t),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col, int64_t if_null = 0) const {
    return IsNull(col) ? if_null : sqlite3_column_int64(stmt_, col);
  }
  double Real(int col, double if_null = 0) const {
    return IsNull(col) ? if_null : sqlite3_column_double(stmt_, col);
  }

 private:
  Statement& Checked(int rc) {
    if (rc != SQLITE_OK) conn_->Fail(where_, "cannot bind parameter");
    return *this;
  }

  Connection* conn_;
  sqlite3_stmt* stmt_;
  std::string where_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back if not committed.
class Transaction {
 public:
  Transaction(Connection* conn, std::string where) : conn_(conn), where_(std::move(where)) {
    conn_->Exec("BEGIN IMMEDIATE", where_ + ": begin transaction");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(conn_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void Commit() {
    conn_->Exec("COMMIT", where_ + ": commit");
    done_ = true;
  }

 private:
  Connection* conn_;
  std::string where_;
  bool done_ = false;
};

// BEGIN (deferred) ... COMMIT around reads: every statement inside sees the
// same commit. Ends the transaction when destroyed if End() was not called.
class ReadTransaction {
 public:
  ReadTransaction(Connection* conn, std::string where) : conn_(conn), where_(std::move(where)) {
    conn_->Exec("BEGIN", where_ + ": begin read");
  }
  ~ReadTransaction() {
    if (!done_) sqlite3_exec(conn_->db(), "COMMIT", nullptr, nullptr, nullptr);
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

  void End() {
    done_ = true;
    conn_->Exec("COMMIT", where_ + ": end read");
  }

 private:
  Connection* conn_;
  std::string where_;
  bool done_ = false;
};

class SqliteIndex : public ResultIndex {
 public:
  SqliteIndex(const std::string& path, bool read_only, JournalSetting journal)
      : conn_(path, read_only) {
    if (read_only) {
      conn_.Exec("PRAGMA query_only = ON", Where());
      // Surfaces "file is not a database" and missing schema at open time.
      if (conn_.QueryText("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                          "name IN ('runs', 'units', 'metrics', 'models')",
                          Where()) != "4") {
        throw ResultsError(Where() + ": not an effrobust index (tables missing)");
      }
      FindAddedColumns();
      return;
    }
    SetJournalMode(ChooseJournalMode(ParentDirectory(path), journal));
    const int version = std::stoi("0" + conn_.QueryText("PRAGMA user_version", Where()));
    if (version > kSchemaVersion) {
      throw ResultsError(Where() + ": schema version " + std::to_string(version) +
                         " is newer than this program's " + std::to_string(kSchemaVersion));
    }
    Transaction tx(&conn_, Where() + " schema");
    conn_.Exec(kSchema, Where() + " schema");
    AddMissingColumns();
    conn_.Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion), Where());
    tx.Commit();
  }

  int64_t BeginRun(const RunRecord& run) override {
    const std::string where = Where() + " table 'runs'";
    CheckWritable(where);
    if (run.run_id > 0) {
      Statement exists(&conn_, "SELECT 1 FROM runs WHERE run_id = ?", where);
      exists.Bind(1, run.run_id);
      if (exists.Step()) {
        throw ResultsError(where + ": run " + std::to_string(run.run_id) + " already exists");
      }
    }
    Statement st(&conn_,
                 "INSERT INTO runs (run_id, name, config_text, config_hash, git_commit, "
                 "torch_version, host, ranks, started_at, ended_at, status, slurm_job_id, "
                 "slurm_restart_count) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'running', ?, ?)",
                 where);
    if (run.run_id > 0) {
      st.Bind(1, run.run_id);
    } else {
      st.BindNull(1);
    }
    st.Bind(2, run.name)
        .Bind(3, run.config_text)
        .Bind(4, run.config_hash)
        .Bind(5, run.git_commit)
        .Bind(6, run.torch_version)
        .Bind(7, run.host)
        .Bind(8, run.ranks)
        .Bind(9, run.started_at)
        .Bind(10, run.slurm_job_id)
        .Bind(11, run.slurm_restart_count);
    st.Run();
    return sqlite3_last_insert_rowid(conn_.db());
  }

  void EndRun(int64_t run_id, const std::string& status, double ended_at) override {
    const std::string where = Where() + " table 'runs' run " + std::to_string(run_id);
    CheckWritable(where);
    Statement st(&conn_, "UPDATE runs SET status = ?, ended_at = ? WHERE run_id = ?", where);
    st.Bind(1, status).Bind(2, ended_at).Bind(3, run_id);
    if (st.Run() == 0) throw ResultsError(where + ": unknown run");
  }

  void RegisterModel(const ModelRecord& model) override {
    const std::string where = Where() + " table 'models' model '" + model.name + "'";
    CheckWritable(where);
    Statement st(&conn_,
                 "INSERT OR REPLACE INTO models (name, path, arch, dataset, metadata_json, "
                 "registered_at) VALUES (?, ?, ?, ?, ?, ?)",
                 where);
    st.Bind(1, model.name)
        .Bind(2, model.path)
        .Bind(3, model.arch)
        .Bind(4, model.dataset)
        .Bind(5, model.metadata_json)
        .Bind(6, WallSeconds());
    st.Run();
  }

  void PlanUnits(int64_t run_id, const std::vector<UnitPlan>& units) override {
    const std::string where = Where() + " table 'units'";
    CheckWritable(where);
    Transaction tx(&conn_, where);
    for (const UnitPlan& u : units) {
      const std::string ctx = where + " unit '" + u.unit_id + "'";
      if (u.unit_id.empty()) throw ResultsError(ctx + ": empty unit id");
      Statement st(&conn_,
                   "INSERT INTO units (unit_id, run_id, model, dataset, split, sample_begin, "
                   "sample_end, attack, params_json, seed, spec_json, status, attempts) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0) "
                   "ON CONFLICT (unit_id) DO NOTHING",
                   ctx);
      st.Bind(1, u.unit_id)
          .Bind(2, run_id)
          .Bind(3, u.model)
          .Bind(4, u.dataset)
          .Bind(5, u.split)
          .Bind(6, u.sample_begin)
          .Bind(7, u.sample_end)
          .Bind(8, u.attack)
          .Bind(9, u.params_json)
          .Bind(10, u.seed)
          .Bind(11, u.spec_json);
      st.Run();
    }
    tx.Commit();
  }

  std::set<std::string> DoneUnits() override {
    Statement st(&conn_, "SELECT unit_id FROM units WHERE status = 'done'",
                 Where() + " table 'units'");
    std::set<std::string> done;
    while (st.Step()) done.insert(st.Text(0));
    return done;
  }

  void MarkRunning(const std::string& unit_id, int64_t run_id, int worker_rank,
                   const std::string& host, double started_at) override {
    const std::string where = UnitWhere(unit_id);
    CheckWritable(where);
    Statement st(&conn_,
                 "UPDATE units SET status = 'running', attempts = attempts + 1, run_id = ?, "
                 "worker_rank = ?, host = ?, started_at = ? WHERE unit_id = ?",
                 where);
    st.Bind(1, run_id).Bind(2, worker_rank).Bind(3, host).Bind(4, started_at).Bind(5, unit_id);
    if (st.Run() == 0) throw ResultsError(where + ": unknown unit");
  }

  void CommitUnit(const UnitCompletion& done) override {
    const std::string where = UnitWhere(done.unit_id);
    CheckWritable(where);
    Transaction tx(&conn_, where);
    {
      Statement st(&conn_,
                   "UPDATE units SET status = 'done', run_id = ?, worker_rank = ?, host = ?, "
                   "started_at = ?, finished_at = ?, wall_seconds = ?, shard_file = ?, "
                   "row_begin = ?, row_end = ?, summary_json = ?, error = NULL "
                   "WHERE unit_id = ?",
                   where);
      st.Bind(1, done.run_id)
          .Bind(2, done.worker_rank)
          .Bind(3, done.host)
          .Bind(4, done.started_at)
          .Bind(5, done.finished_at)
          .Bind(6, done.wall_seconds)
          .Bind(7, done.shard_file)
          .Bind(8, done.row_begin)
          .Bind(9, done.row_end)
          .Bind(10, SummaryJson(done.metrics))
          .Bind(11, done.unit_id);
      if (st.Run() == 0) throw ResultsError(where + ": unknown unit");
    }
    {
      Statement st(&conn_, "UPDATE units SET device = ?, device_name = ? WHERE unit_id = ?", where);
      st.Bind(1, done.device).Bind(2, done.device_name).Bind(3, done.unit_id);
      st.Run();
    }
    const std::string metrics_where = Where() + " table 'metrics' unit '" + done.unit_id + "'";
    {
      Statement st(&conn_, "DELETE FROM metrics WHERE unit_id = ?", metrics_where);
      st.Bind(1, done.unit_id);
      st.Run();
    }
    for (const auto& [name, value] : done.metrics) {
      Statement st(&conn_, "INSERT INTO metrics (unit_id, name, value) VALUES (?, ?, ?)",
                   metrics_where + " metric '" + name + "'");
      st.Bind(1, done.unit_id).Bind(2, name).Bind(3, value);
      st.Run();
    }
    tx.Commit();
  }

  void RecordFailure(const std::string& unit_id, const std::string& error, bool retry) override {
    const std::string where = UnitWhere(unit_id);
    CheckWritable(where);
    Statement st(&conn_,
                 "UPDATE units SET status = ?, error = ?, failures = failures + 1 "
                 "WHERE unit_id = ?",
                 where);
    st.Bind(1, std::string(retry ? "pending" : "failed")).Bind(2, error).Bind(3, unit_id);
    if (st.Run() == 0) throw ResultsError(where + ": unknown unit");
  }

  void RecordInterruption(const std::string& unit_id) override {
    const std::string where = UnitWhere(unit_id);
    CheckWritable(where);
    Statement st(&conn_,
                 "UPDATE units SET status = 'pending', interruptions = interruptions + 1 "
                 "WHERE unit_id = ? AND status = 'running'",
                 where);
    st.Bind(1, unit_id);
    st.Run();
  }

  int64_t RecoverInterrupted(double now) override {
    const std::string where = Where() + " recovering interrupted runs";
    CheckWritable(where);
    Transaction tx(&conn_, where);
    int64_t n = 0;
    {
      Statement st(&conn_,
                   "UPDATE units SET status = 'pending', interruptions = interruptions + 1 "
                   "WHERE status = 'running'",
                   where);
      n = st.Run();
    }
    {
      Statement st(&conn_,
                   "UPDATE runs SET status = 'interrupted', ended_at = ? WHERE status = 'running'",
                   where);
      st.Bind(1, now);
      st.Run();
    }
    tx.Commit();
    return n;
  }

  void MarkPending(const std::string& unit_id) override {
    const std::string where = UnitWhere(unit_id);
    CheckWritable(where);
    Statement st(&conn_, "UPDATE units SET status = 'pending' WHERE unit_id = ?", where);
    st.Bind(1, unit_id);
    if (st.Run() == 0) throw ResultsError(where + ": unknown unit");
  }

  std::vector<UnitRecord> Units() override {
    const std::string where = Where() + " table 'units'";
    std::vector<UnitRecord> units;
    std::unordered_map<std::string, size_t> position;
    ReadTransaction snapshot(&conn_, where);  // units and metrics of one commit
    {
      Statement st(&conn_,
                   std::string("SELECT ") + kUnitColumns + ", " +
                       AddedColumnOrNull("units", "device") + ", " +
                       AddedColumnOrNull("units", "device_name") + ", " +
                       AddedColumnOrNull("units", "failures") + ", " +
                       AddedColumnOrNull("units", "interruptions") +
                       " FROM units ORDER BY model, dataset, sample_begin, attack, "
                       "params_json, unit_id",
                   where);
      while (st.Step()) {
        UnitRecord r;
        r.plan.unit_id = st.Text(0);
        r.plan.model = st.Text(1);
        r.plan.dataset = st.Text(2);
        r.plan.split = st.Text(3);
        r.plan.sample_begin = st.Int(4);
        r.plan.sample_end = st.Int(5);
        r.plan.attack = st.Text(6);
        r.plan.params_json = st.Text(7);
        r.plan.seed = st.Int(8);
        r.plan.spec_json = st.Text(9);
        r.status = st.Text(10);
        r.attempts = static_cast<int>(st.Int(11));
        r.run_id = st.Int(12);
        r.worker_rank = static_cast<int>(st.Int(13, -1));
        r.host = st.Text(14);
        r.started_at = st.Real(15);
        r.finished_at = st.Real(16);
        r.wall_seconds = st.Real(17);
        r.shard_file = st.Text(18);
        r.row_begin = st.Int(19);
        r.row_end = st.Int(20);
        r.error = st.Text(21);
        r.device = st.Text(22);
        r.device_name = st.Text(23);
        r.failures = static_cast<int>(st.Int(24));
        r.interruptions = static_cast<int>(st.Int(25));
        position.emplace(r.plan.unit_id, units.size());
        units.push_back(std::move(r));
      }
    }
    {
      Statement st(&conn_, "SELECT unit_id, name, value FROM metrics",
                   Where() + " table 'metrics'");
      while (st.Step()) {
        auto it = position.find(st.Text(0));
        if (it == position.end()) continue;  // metrics of a unit no longer planned
        units[it->second].metrics[st.Text(1)] =
            st.Real(2, std::numeric_limits<double>::quiet_NaN());
      }
    }
    snapshot.End();
    return units;
  }

  std::vector<RunRecord> Runs() override {
    Statement st(&conn_,
                 "SELECT run_id, name, config_text, config_hash, git_commit, torch_version, "
                 "host, ranks, started_at, ended_at, status, " +
                     AddedColumnOrNull("runs", "slurm_job_id") + ", " +
                     AddedColumnOrNull("runs", "slurm_restart_count") +
                     " FROM runs ORDER BY run_id",
                 Where() + " table 'runs'");
    std::vector<RunRecord> runs;
    while (st.Step()) {
      RunRecord r;
      r.run_id = st.Int(0);
      r.name = st.Text(1);
      r.config_text = st.Text(2);
      r.config_hash = st.Text(3);
      r.git_commit = st.Text(4);
      r.torch_version = st.Text(5);
      r.host = st.Text(6);
      r.ranks = static_cast<int>(st.Int(7, 1));
      r.started_at = st.Real(8);
      r.ended_at = st.Real(9);
      r.status = st.Text(10);
      r.slurm_job_id = st.Text(11);
      r.slurm_restart_count = static_cast<int>(st.Int(12));
      runs.push_back(std::move(r));
    }
    return runs;
  }

  std::vector<ModelRecord> Models() override {
    Statement st(&conn_,
                 "SELECT name, path, arch, dataset, metadata_json FROM models ORDER BY name",
                 Where() + " table 'models'");
    std::vector<ModelRecord> models;
    while (st.Step()) {
      ModelRecord m;
      m.name = st.Text(0);
      m.path = st.Text(1);
      m.arch = st.Text(2);
      m.dataset = st.Text(3);
      m.metadata_json = st.Text(4);
      models.push_back(std::move(m));
    }
    return models;
  }

 private:
  std::string Where() const { return conn_.Where(); }
  std::string UnitWhere(const std::string& unit_id) const {
    return Where() + " table 'units' unit '" + unit_id + "'";
  }
  void CheckWritable(const std::string& where) const {
    if (conn_.read_only()) throw ResultsError(where + ": index is opened read-only");
  }

  // Sets and logs the journal mode. A writer on a shared filesystem uses the
  // rollback journal with full syncs; locally WAL with synchronous=NORMAL.
  void SetJournalMode(const JournalChoice& choice) {
    const std::string wanted = JournalModeName(choice.mode);
    const std::string mode = conn_.QueryText("PRAGMA journal_mode = " + wanted, Where());
    if (mode != wanted) {
      LogWarn(Where() + ": journal_mode is '" + mode + "', not '" + wanted + "' (" + choice.reason +
              ")");
    } else {
      LogInfo(Where() + ": journal_mode=" + mode + ": " + choice.reason);
    }
    conn_.Exec(mode == "wal" ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
               Where());
  }

  // Columns of `table` as PRAGMA table_info lists them.
  std::set<std::string> TableColumns(const std::string& table) {
    Statement st(&conn_, "SELECT name FROM pragma_table_info(?)", Where());
    st.Bind(1, table);
    std::set<std::string> columns;
    while (st.Step()) columns.insert(st.Text(0));
    return columns;
  }

  // Appends the kAddedColumns a database made by an older version lacks.
  // Runs inside the schema transaction.
  void AddMissingColumns() {
    for (const AddedColumn& c : kAddedColumns) {
      if (TableColumns(c.table).count(c.name) > 0) continue;
      conn_.Exec(
          std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.name + " " + c.declaration,
          Where() + " table '" + c.table + "': adding column '" + c.name + "'");
    }
    FindAddedColumns();
  }

  // Records which kAddedColumns exist (a read-only connection to an older
  // database reads the missing ones as NULL).
  void FindAddedColumns() {
    present_.clear();
    for (const AddedColumn& c : kAddedColumns) {
      if (TableColumns(c.table).count(c.name) > 0) {
        present_.insert(std::string(c.table) + "." + c.name);
      }
    }
  }

  std::string AddedColumnOrNull(const std::string& table, const std::string& column) const {
    return present_.count(table + "." + column) > 0 ? column : "NULL";
  }

  Connection conn_;
  std::set<std::string> present_;  // "table.column" of the kAddedColumns present
};

}  // namespace

std::unique_ptr<ResultIndex> OpenSqliteIndex(const std::string& path) {
  return OpenSqliteIndex(path, JournalSettingFromEnvironment());
}

std::unique_ptr<ResultIndex> OpenSqliteIndex(const std::string& path, JournalSetting journal) {
  return std::make_unique<SqliteIndex>(path, /*read_only=*/false, journal);
}

std::unique_ptr<ResultIndex> OpenSqliteIndexReadOnly(const std::string& path) {
  return std::make_unique<SqliteIndex>(path, /*read_only=*/true, JournalSetting::kAuto);
}

}  // namespace effrobust
