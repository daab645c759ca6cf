#pragma once
// Carries publications between natsync nodes. Every publication goes through the
// broker, which delivers it to every node, this one included; so the local and the
// multi-node paths are one path, and a NATS implementation only replaces this class.
#include <string_view>

#include "hub/publication.hpp"

namespace natsync {

class Broker {
 public:
  virtual ~Broker() = default;

  // Thread-safe; must not block on the network.
  virtual void publish(PublicationPtr publication) = 0;

  virtual std::string_view name() const = 0;  // "memory", "nats"
  virtual bool connected() const = 0;
};

}  // namespace natsync
