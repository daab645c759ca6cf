#include "broker/local_broker.hpp"

namespace natsync {

bool LocalBroker::publish(PublicationPtr publication) {
  hub_.dispatch(publication);
  return true;
}

void LocalBroker::send_to_nodes(const std::string& channel, std::string_view body,
                                std::function<void()> sent) {
  if (auto it = node_handlers_.find(channel); it != node_handlers_.end()) it->second(body);
  if (sent) sent();
}

BrokerStatus LocalBroker::status() const {
  BrokerStatus status;
  status.name = "memory";
  status.node_id = node_id_;
  return status;
}

}  // namespace natsync
