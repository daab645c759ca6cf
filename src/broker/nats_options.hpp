#pragma once
// What both of a node's NATS connections (the broker's and the JetStream history's)
// share: how they find servers, reconnect and notice a silent one.
#include <nats/nats.h>

#include <string>
#include <vector>

namespace natsync {

// Throws std::runtime_error naming `what` and nats.c's reason unless `status` is NATS_OK.
void check_nats(natsStatus status, const char* what);

// Options for a connection named `name` to `servers` (nats://host:port): servers tried in
// the order given (so an operator points each node at its nearest server first), one
// delivery thread for every subscription, reconnecting forever (every 250 ms plus up to
// 1 s of jitter), a silent server noticed within ~10 s. The caller destroys them.
natsOptions* make_nats_options(const std::vector<std::string>& servers, const std::string& name);

}  // namespace natsync
