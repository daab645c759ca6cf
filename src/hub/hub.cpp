#include "hub/hub.hpp"

#include <boost/asio/post.hpp>

namespace natsync {

void Hub::dispatch(const PublicationPtr& publication) const {
  for (const auto& shard : shards_) {
    boost::asio::post(shard.executor, [local = shard.local, publication] { local->deliver(*publication); });
  }
}

}  // namespace natsync
