#pragma once
// Documents in an SQLite database (DATA_DIR/documents.db) in WAL mode with
// synchronous=FULL: a save returns once its transaction is on disk, so an acknowledged
// change survives a crash of the process or of the machine. Two connections: one for
// the committer's transactions, one (under a mutex) for the loads, which WAL lets run
// beside a write.
#include <mutex>
#include <string>

#include "documents/document_store.hpp"

struct sqlite3;

namespace natsync {

class SqliteDocumentStore final : public DocumentStore {
 public:
  // Opens (creating if needed) the database at `path`; throws std::runtime_error with
  // one line naming the file when it cannot.
  explicit SqliteDocumentStore(const std::string& path);
  ~SqliteDocumentStore() override;
  SqliteDocumentStore(const SqliteDocumentStore&) = delete;
  SqliteDocumentStore& operator=(const SqliteDocumentStore&) = delete;

  std::string epoch() const override { return epoch_; }
  std::optional<DocumentRow> load(const std::string& topic) override;
  void save(const std::vector<DocumentRow>& rows) override;

 private:
  std::string path_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  std::mutex reader_mutex_;
  std::string epoch_;
};

}  // namespace natsync
