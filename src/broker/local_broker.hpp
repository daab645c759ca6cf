#pragma once
// The standalone broker: one node, so "every node" is this one's hub.
#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace natsync {

class LocalBroker final : public Broker {
 public:
  explicit LocalBroker(const Hub& hub) : hub_(hub) {}

  void publish(PublicationPtr publication) override;
  std::string_view name() const override { return "memory"; }
  bool connected() const override { return true; }

 private:
  const Hub& hub_;
};

}  // namespace natsync
