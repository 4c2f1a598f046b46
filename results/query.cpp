// Ad-hoc read-only SQL over a run's index (see RunQuery in results/index.h).
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "common/error.h"
#include "common/value.h"
#include "results/index.h"

namespace effrobust {
namespace {

// PRAGMAs that take an argument and only read (the argument names a table,
// an index or a limit). Any other PRAGMA with a value sets something.
const std::set<std::string> kReadingPragmasWithArgument = {
    "foreign_key_check", "foreign_key_list", "index_info", "index_list", "index_xinfo",
    "integrity_check",   "quick_check",      "table_info", "table_list", "table_xinfo",
};

// PRAGMAs that write to the database file even without a value.
const std::set<std::string> kWritingPragmas = {"incremental_vacuum", "optimize", "wal_checkpoint"};

// What an authorizer action would do, if it is refused ("" if allowed).
std::string RefusedAction(int action, const char* arg1, const char* arg2) {
  const std::string a1 = arg1 != nullptr ? arg1 : "";
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return "";
    case SQLITE_INSERT:
      return "modify the index (INSERT into " + a1 + ")";
    case SQLITE_UPDATE:
      // Reading a table-valued PRAGMA (pragma_table_info(...)) reports an
      // UPDATE of the schema table; real schema changes are refused by their
      // own action codes and by sqlite3_stmt_readonly.
      if (a1 == "sqlite_master" || a1 == "sqlite_temp_master" || a1 == "sqlite_schema") {
        return "";
      }
      return "modify the index (UPDATE of " + a1 + ")";
    case SQLITE_DELETE:
      return "modify the index (DELETE from " + a1 + ")";
    case SQLITE_ATTACH:
      return "attach another database";
    case SQLITE_DETACH:
      return "detach a database";
    case SQLITE_PRAGMA:
      if (arg2 == nullptr) {
        return kWritingPragmas.count(a1) > 0 ? "modify the index (PRAGMA " + a1 + ")" : "";
      }
      if (kReadingPragmasWithArgument.count(a1) > 0) return "";
      return "change a setting (PRAGMA " + a1 + " = " + arg2 + ")";
    default:
      // CREATE/DROP/ALTER of tables, indexes, views and triggers, ANALYZE,
      // REINDEX, and anything newer: not a read.
      return "modify the index (schema or statistics)";
  }
}

// Owns a read-only connection and the statement being run.
class ReadOnlyQuery {
 public:
  explicit ReadOnlyQuery(const std::string& path)
      : path_(path), where_("index '" + path + "'") {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      throw ResultsError(where_ + ": cannot open for query: " + std::strerror(errno));
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw ResultsError(where_ + ": cannot open for query: " + message);
    }
    sqlite3_busy_timeout(db_, kIndexBusyTimeoutMs);
    if (sqlite3_exec(db_, "PRAGMA query_only = ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
      Fail("cannot make the connection query-only");
    }
    sqlite3_set_authorizer(db_, &ReadOnlyQuery::Authorize, this);
  }
  ~ReadOnlyQuery() {
    sqlite3_finalize(stmt_);
    sqlite3_close_v2(db_);
  }
  ReadOnlyQuery(const ReadOnlyQuery&) = delete;
  ReadOnlyQuery& operator=(const ReadOnlyQuery&) = delete;

  QueryResult Run(const std::string& sql) {
    const char* tail = nullptr;
    refused_.clear();
    pragma_read_ = false;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, &tail) !=
        SQLITE_OK) {
      if (!refused_.empty()) Refuse(sql, refused_);
      Fail("cannot prepare query");
    }
    if (stmt_ == nullptr) throw ResultsError(where_ + ": empty query");
    // sqlite3_stmt_readonly is false for writes SQLite knows without the
    // authorizer (VACUUM, ...) and for PRAGMAs that only report a value.
    if (!refused_.empty()) Refuse(sql, refused_);
    if (!sqlite3_stmt_readonly(stmt_) && !pragma_read_) Refuse(sql, "modify the index");
    RejectTrailingStatements(sql, tail);

    QueryResult result;
    const int columns = sqlite3_column_count(stmt_);
    for (int i = 0; i < columns; ++i) {
      const char* name = sqlite3_column_name(stmt_, i);
      result.columns.push_back(name != nullptr ? name : "");
    }
    while (true) {
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) Fail("query failed");
      std::vector<std::string> row;
      row.reserve(columns);
      for (int i = 0; i < columns; ++i) row.push_back(CellText(i));
      result.rows.push_back(std::move(row));
    }
    return result;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    std::string text = sqlite3_errmsg(db_);
    if (sqlite3_extended_errcode(db_) == SQLITE_READONLY_ROLLBACK) text += HotJournalHint(path_);
    throw ResultsError(where_ + ": " + what + ": " + text);
  }

  [[noreturn]] void Refuse(const std::string& sql, const std::string& what) const {
    throw ReadOnlyQueryError("query is read-only: '" + sql + "' would " + what + " (" + where_ +
                             "); effrobust query only runs statements that read: SELECT, "
                             "WITH ... SELECT, EXPLAIN, PRAGMAs that report");
  }

  // sqlite3 authorizer: denies (and remembers) the first action that is not
  // a read while a statement is prepared.
  static int Authorize(void* self, int action, const char* arg1, const char* arg2,
                       const char* /*database*/, const char* /*trigger*/) {
    auto* query = static_cast<ReadOnlyQuery*>(self);
    const std::string refused = RefusedAction(action, arg1, arg2);
    if (refused.empty()) {
      if (action == SQLITE_PRAGMA) query->pragma_read_ = true;
      return SQLITE_OK;
    }
    if (query->refused_.empty()) query->refused_ = refused;
    return SQLITE_DENY;
  }

  // Only whitespace, comments and semicolons may follow the first statement.
  void RejectTrailingStatements(const std::string& sql, const char* tail) const {
    const char* end = sql.c_str() + sql.size();
    while (tail != nullptr && tail < end) {
      sqlite3_stmt* next = nullptr;
      const char* rest = nullptr;
      const int rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &next, &rest);
      if (next != nullptr || rc != SQLITE_OK) {
        sqlite3_finalize(next);
        throw ResultsError(where_ + ": expected a single SQL statement, found more: '" +
                           std::string(tail) + "'");
      }
      if (rest == tail) break;
      tail = rest;
    }
  }

  // NULL as "", reals in shortest round-trip form, everything else as text.
  std::string CellText(int i) const {
    switch (sqlite3_column_type(stmt_, i)) {
      case SQLITE_NULL:
        return "";
      case SQLITE_FLOAT:
        return FormatNumber(sqlite3_column_double(stmt_, i));
      default: {
        const unsigned char* text = sqlite3_column_text(stmt_, i);
        if (text == nullptr) return "";
        return std::string(reinterpret_cast<const char*>(text),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i)));
      }
    }
  }

  std::string path_;
  std::string where_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string refused_;       // first action the authorizer denied
  bool pragma_read_ = false;  // the statement is a PRAGMA that only reports
};

}  // namespace

QueryResult RunQuery(const std::string& db_path, const std::string& sql) {
  ReadOnlyQuery query(db_path);
  return query.Run(sql);
}

}  // namespace effrobust
