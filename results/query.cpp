// Ad-hoc read-only SQL over a run's index (see RunQuery in results/index.h).
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/value.h"
#include "results/index.h"

namespace effrobust {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Owns a read-only connection and the statement being run.
class ReadOnlyQuery {
 public:
  explicit ReadOnlyQuery(const std::string& path) : where_("index '" + path + "'") {
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
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  }
  ~ReadOnlyQuery() {
    sqlite3_finalize(stmt_);
    sqlite3_close_v2(db_);
  }
  ReadOnlyQuery(const ReadOnlyQuery&) = delete;
  ReadOnlyQuery& operator=(const ReadOnlyQuery&) = delete;

  QueryResult Run(const std::string& sql) {
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, &tail) !=
        SQLITE_OK) {
      Fail("cannot prepare query");
    }
    if (stmt_ == nullptr) throw ResultsError(where_ + ": empty query");
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
    throw ResultsError(where_ + ": " + what + ": " + sqlite3_errmsg(db_));
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

  std::string where_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

QueryResult RunQuery(const std::string& db_path, const std::string& sql) {
  ReadOnlyQuery query(db_path);
  return query.Run(sql);
}

}  // namespace effrobust
