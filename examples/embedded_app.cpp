// An application that embeds natsync: it runs its own HTTP server, answers its own
// routes, and mounts natsync's routes (/ws/sync, /api/sync/*, /healthz) by handing
// those connections over. Its own code publishes through the library API: a "clock"
// topic tick every second, and a message to one user on POST /app/notify?user=…
//
//   ./embedded_example 127.0.0.1:9090
//   curl http://127.0.0.1:9090/hello
//   node -e "const W=require('ws');const w=new W('ws://127.0.0.1:9090/ws/sync?user_id=me');
//            w.on('open',()=>w.send(JSON.stringify({type:'subscribe',topic:'clock'})));
//            w.on('message',m=>console.log(String(m)))"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/value.hpp>
#include <csignal>
#include <iostream>
#include <memory>

#include "server/service.hpp"

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

// One connection to the application's own HTTP server: read a request, then either
// answer it or give the socket (and the request already read) to natsync.
class AppConnection : public std::enable_shared_from_this<AppConnection> {
 public:
  AppConnection(tcp::socket socket, natsync::Service& sync) : socket_(std::move(socket)), sync_(sync) {}

  void start() {
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (!ec) self->on_request();
                     });
  }

 private:
  void on_request() {
    if (natsync::Service::handles_target(request_.target())) {
      sync_.serve(std::move(socket_), std::move(request_));  // natsync takes it from here
      return;
    }
    auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, request_.version());
    response->set(http::field::content_type, "text/plain");
    const auto target = request_.target();
    if (request_.method() == http::verb::post && target.starts_with("/app/notify?user=")) {
      // The application decides who hears about what; natsync delivers it.
      const auto user = std::string(target.substr(std::string_view("/app/notify?user=").size()));
      const auto status = sync_.node().publish_to_user(user, boost::json::value{{"notice", "from the app"}});
      response->body() = std::string(natsync::to_string(status)) + "\n";
    } else {
      const auto status = sync_.node().status();
      response->body() =
          "hello from the application; " + std::to_string(status.connections) + " sync connections\n";
    }
    response->keep_alive(request_.keep_alive());
    response->prepare_payload();
    http::async_write(socket_, *response,
                      [self = shared_from_this(), response](boost::system::error_code ec, std::size_t) {
                        if (ec || !response->keep_alive()) return;  // the socket closes with `self`
                        // Keep-alive: the next request on this connection may be natsync's.
                        self->request_ = {};
                        self->start();
                      });
  }

  tcp::socket socket_;
  natsync::Service& sync_;
  boost::beast::flat_buffer buffer_;
  natsync::HttpRequest request_;
};

void accept_next(tcp::acceptor& acceptor, natsync::Service& sync) {
  acceptor.async_accept([&acceptor, &sync](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed at shutdown
    std::make_shared<AppConnection>(std::move(socket), sync)->start();
    accept_next(acceptor, sync);
  });
}

void tick_every_second(boost::asio::steady_timer& timer, natsync::Service& sync, long tick) {
  sync.node().publish("clock", boost::json::value{{"tick", tick}});
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &sync, tick](boost::system::error_code ec) {
    if (!ec) tick_every_second(timer, sync, tick + 1);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const auto address = natsync::parse_listen_address(argc > 1 ? argv[1] : "127.0.0.1:9090");
  if (!address) {
    std::cerr << "usage: embedded_example host:port\n";
    return 2;
  }

  natsync::Config config;  // defaults: development mode, no API key
  config.worker_threads = 2;
  natsync::Service sync(config);
  sync.start(/*listen=*/false);  // the application owns the port

  boost::asio::io_context io_context;
  tcp::acceptor acceptor(io_context, {boost::asio::ip::make_address(address->host), address->port});
  std::cout << "embedded app listening on " << address->host << ":" << acceptor.local_endpoint().port()
            << std::endl;
  accept_next(acceptor, sync);
  boost::asio::steady_timer clock(io_context);
  tick_every_second(clock, sync, 0);

  boost::asio::signal_set signals(io_context, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    acceptor.close();
    clock.cancel();
    sync.stop();  // tells every sync client and waits for them, bounded by SHUTDOWN_TIMEOUT
  });
  io_context.run();
  return 0;
}
