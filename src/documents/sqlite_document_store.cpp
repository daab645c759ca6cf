#include "documents/sqlite_document_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace natsync {

namespace {

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("SQLite: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql, const std::string& path) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw std::runtime_error("document store " + path + ": " + text);
  }
}

sqlite3* open_database(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw std::runtime_error("cannot open the document store " + path + ": " + text);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

}  // namespace

SqliteDocumentStore::SqliteDocumentStore(const std::string& path) : path_(path) {
  try {
    writer_ = open_database(path);
    // WAL: readers do not wait for the writer. synchronous=FULL: a commit returns once the
    // log is on disk (NORMAL would lose the last commits on a power cut).
    exec(writer_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", path);
    exec(writer_,
         "CREATE TABLE IF NOT EXISTS documents (topic TEXT PRIMARY KEY, revision INTEGER NOT NULL, "
         "data TEXT NOT NULL) WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
         path);
    {
      // The epoch is made once, with the database: it names this data's lifetime.
      Statement insert(writer_, "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)");
      const auto fresh = random_epoch();
      sqlite3_bind_text(insert.get(), 1, fresh.data(), static_cast<int>(fresh.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(insert.get()) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(writer_));
      Statement select(writer_, "SELECT value FROM meta WHERE key = 'epoch'");
      if (sqlite3_step(select.get()) != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(writer_));
      epoch_ = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0));
    }
    reader_ = open_database(path);
  } catch (const std::runtime_error& e) {
    sqlite3_close(reader_);
    sqlite3_close(writer_);
    const std::string what = e.what();
    throw std::runtime_error(what.find(path) == std::string::npos ? "document store " + path + ": " + what
                                                                  : what);
  }
}

SqliteDocumentStore::~SqliteDocumentStore() {
  sqlite3_close(reader_);
  sqlite3_close(writer_);
}

std::optional<DocumentRow> SqliteDocumentStore::load(const std::string& topic) {
  const std::lock_guard lock(reader_mutex_);
  Statement select(reader_, "SELECT revision, data FROM documents WHERE topic = ?");
  sqlite3_bind_text(select.get(), 1, topic.data(), static_cast<int>(topic.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(select.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) throw std::runtime_error("document store " + path_ + ": " + sqlite3_errmsg(reader_));
  DocumentRow row;
  row.topic = topic;
  row.revision = static_cast<std::uint64_t>(sqlite3_column_int64(select.get(), 0));
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1));
  row.data_json.assign(data, static_cast<std::size_t>(sqlite3_column_bytes(select.get(), 1)));
  return row;
}

void SqliteDocumentStore::save(const std::vector<DocumentRow>& rows) {
  if (rows.empty()) return;
  exec(writer_, "BEGIN IMMEDIATE", path_);
  try {
    Statement upsert(writer_,
                     "INSERT INTO documents (topic, revision, data) VALUES (?, ?, ?) "
                     "ON CONFLICT (topic) DO UPDATE SET revision = excluded.revision, data = excluded.data");
    for (const auto& row : rows) {
      sqlite3_bind_text(upsert.get(), 1, row.topic.data(), static_cast<int>(row.topic.size()), SQLITE_STATIC);
      sqlite3_bind_int64(upsert.get(), 2, static_cast<sqlite3_int64>(row.revision));
      sqlite3_bind_text(upsert.get(), 3, row.data_json.data(), static_cast<int>(row.data_json.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(upsert.get()) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(writer_));
      sqlite3_reset(upsert.get());
    }
    exec(writer_, "COMMIT", path_);
  } catch (const std::runtime_error& e) {
    sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw std::runtime_error("document store " + path_ + ": " + e.what());
  }
}

}  // namespace natsync
