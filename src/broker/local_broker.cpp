#include "broker/local_broker.hpp"

namespace natsync {

void LocalBroker::publish(PublicationPtr publication) { hub_.dispatch(std::move(publication)); }

}  // namespace natsync
