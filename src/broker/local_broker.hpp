#pragma once
// The standalone broker: one node, so "every node" is this one's hub, and interest
// needs no subscription anywhere.
#include <map>

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace natsync {

class LocalBroker final : public Broker {
 public:
  LocalBroker(const Hub& hub, std::string node_id) : hub_(hub), node_id_(std::move(node_id)) {}

  bool publish(PublicationPtr publication) override;
  void interest_gained(Channel /*channel*/, const std::string& /*key*/, ReadyFn on_ready) override {
    on_ready();
  }
  void interest_lost(Channel /*channel*/, const std::string& /*key*/) override {}
  void when_ready(Channel /*channel*/, const std::string& /*key*/, ReadyFn on_ready) override { on_ready(); }
  BrokerStatus status() const override;
  // The only node: a message is handled at once.
  void on_node_message(const std::string& channel, NodeMessageFn handler) override {
    node_handlers_[channel] = std::move(handler);
  }
  void send_to_nodes(const std::string& channel, std::string_view body, std::function<void()> sent) override;

 private:
  const Hub& hub_;
  std::string node_id_;
  std::map<std::string, NodeMessageFn> node_handlers_;  // set before use, then only read
};

}  // namespace natsync
