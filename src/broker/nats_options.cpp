#include "broker/nats_options.hpp"

#include <stdexcept>

namespace natsync {

void check_nats(natsStatus status, const char* what) {
  if (status != NATS_OK) {
    throw std::runtime_error(std::string("NATS ") + what + ": " + natsStatus_GetText(status) + " (" +
                             nats_GetLastError(nullptr) + ")");
  }
}

natsOptions* make_nats_options(const std::vector<std::string>& servers, const std::string& name) {
  natsOptions* options = nullptr;
  check_nats(natsOptions_Create(&options), "options");
  try {
    std::vector<const char*> urls;
    urls.reserve(servers.size());
    for (const auto& server : servers) urls.push_back(server.c_str());
    check_nats(natsOptions_SetServers(options, urls.data(), static_cast<int>(urls.size())), "NATS_URL");
    check_nats(natsOptions_SetName(options, name.c_str()), "name");
    check_nats(natsOptions_SetNoRandomize(options, true), "no-randomize");
    check_nats(natsOptions_UseGlobalMessageDelivery(options, true), "global delivery");
    check_nats(natsOptions_SetMaxReconnect(options, -1), "reconnect");  // forever
    check_nats(natsOptions_SetReconnectWait(options, 250), "reconnect wait");
    check_nats(natsOptions_SetReconnectJitter(options, 250, 1000), "reconnect jitter");
    // Detect a silent server within ~10 s (the default is minutes).
    check_nats(natsOptions_SetPingInterval(options, 5000), "ping interval");
    check_nats(natsOptions_SetMaxPingsOut(options, 2), "pings out");
  } catch (...) {
    natsOptions_Destroy(options);
    throw;
  }
  return options;
}

}  // namespace natsync
