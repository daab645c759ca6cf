#pragma once
// Where a standalone node's documents persist (LocalDocuments keeps the working copies):
// SqliteDocumentStore in DATA_DIR, or none at all (DOCUMENT_STORE=memory).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace natsync {

struct DocumentRow {
  std::string topic;
  std::uint64_t revision = 0;
  std::string data_json;
};

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // Names this store's lifetime: the same across restarts on the same data, new when
  // the data was lost. Revisions of different epochs are not comparable.
  virtual std::string epoch() const = 0;
  // The stored document, or nullopt if it was never changed. Any thread.
  virtual std::optional<DocumentRow> load(const std::string& topic) = 0;
  // Stores every row in one transaction, durably, before returning (group commit: the
  // committer hands over everything that is waiting). One thread only. Throws
  // std::runtime_error when it could not; then none of them is stored.
  virtual void save(const std::vector<DocumentRow>& rows) = 0;
};

// A new epoch: 12 random hex digits.
std::string random_epoch();

// DOCUMENT_STORE=memory: nothing persists; every start is a new epoch.
class MemoryDocumentStore final : public DocumentStore {
 public:
  explicit MemoryDocumentStore(std::string epoch) : epoch_(std::move(epoch)) {}
  std::string epoch() const override { return epoch_; }
  std::optional<DocumentRow> load(const std::string&) override { return std::nullopt; }
  void save(const std::vector<DocumentRow>&) override {}

 private:
  std::string epoch_;
};

}  // namespace natsync
