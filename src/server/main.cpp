// The natsync server binary: configuration from flags and environment, a Service,
// a clean stop on SIGINT/SIGTERM, and SIGHUP to reload the TLS certificate.
#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <functional>
#include <iostream>

#include "config/config.hpp"
#include "server/service.hpp"
#include "server/setting_files.hpp"

int main(int argc, char** argv) {
  auto outcome = natsync::load_config(argc, argv);
  if (!outcome.config) {
    (outcome.exit_code == 0 ? std::cout : std::cerr) << outcome.message << '\n';
    return outcome.exit_code;
  }
  if (auto error = natsync::load_setting_files(*outcome.config); !error.empty()) {
    std::cerr << "natsync: invalid configuration: " << error << '\n';
    return 2;
  }
  if (outcome.check_only) {
    // Every value and every file it names was read and checked; nothing was bound or
    // connected to.
    std::cout << "natsync: configuration OK" << '\n';
    return 0;
  }
  try {
    // Signals are caught from before the port opens: a SIGTERM that arrives right
    // after "listening" must still mean a graceful stop, not the default kill.
    boost::asio::io_context signals_context;
    boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM, SIGHUP);
    natsync::Service service(std::move(*outcome.config));
    service.start();

    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int signal) {
          if (ec) return;
          if (signal == SIGHUP) {
            service.reload_tls();
            signals.async_wait(on_signal);
            return;
          }
          service.log().info("received signal {}", signal);
          service.stop();
        };
    signals.async_wait(on_signal);
    signals_context.run();
  } catch (const std::exception& e) {
    std::cerr << "natsync: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
