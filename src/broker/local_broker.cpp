#include "broker/local_broker.hpp"

namespace natsync {

bool LocalBroker::publish(PublicationPtr publication) {
  hub_.dispatch(publication);
  return true;
}

BrokerStatus LocalBroker::status() const {
  BrokerStatus status;
  status.name = "memory";
  status.node_id = node_id_;
  return status;
}

}  // namespace natsync
