#pragma once
// What a client session uses of the worker thread it lives on: the node-wide context,
// the worker's own subscription index and message parser, and its io_context. One per
// worker; a session
// holds a reference, so this costs a connection one pointer.
#include <boost/asio/io_context.hpp>

#include "core/server_context.hpp"
#include "hub/local_hub.hpp"
#include "metrics/counters.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

struct WorkerServices {
  const ServerContext& server;
  LocalHub& hub;
  MessageParser& parser;
  // Where the broker's and the history's answers are brought back.
  boost::asio::io_context& io_context;
  WorkerMetrics& metrics;  // the worker's counters (GET /metrics)
};

}  // namespace natsync
