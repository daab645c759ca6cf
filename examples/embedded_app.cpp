// An application that embeds natsync: it runs its own HTTP server, answers its own
// routes, and mounts natsync's routes (/ws/sync, /api/sync/*, /healthz) by handing
// those connections over. It also publishes to a topic from its own code.
//
//   ./embedded_example 127.0.0.1:9090
//   curl http://127.0.0.1:9090/hello
//   node -e "const W=require('ws');const w=new W('ws://127.0.0.1:9090/ws/sync?user_id=me');
//            w.on('open',()=>w.send(JSON.stringify({type:'subscribe',topic:'clock'})));
//            w.on('message',m=>console.log(String(m)))"
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "server/service.hpp"

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

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

  // The application's own code publishes through the library API.
  std::atomic<bool> running{true};
  std::thread ticker([&] {
    for (long tick = 0; running; ++tick) {
      sync.node().publish("clock", boost::json::value{{"tick", tick}});
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });

  boost::asio::io_context io_context;
  tcp::acceptor acceptor(io_context, {boost::asio::ip::make_address(address->host), address->port});
  std::cout << "embedded app on " << address->host << ":" << acceptor.local_endpoint().port() << std::endl;
  for (;;) {
    tcp::socket socket(io_context);
    acceptor.accept(socket);
    boost::beast::flat_buffer buffer;
    natsync::HttpRequest request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) continue;
    if (natsync::Service::handles_target(request.target())) {
      sync.serve(std::move(socket), std::move(request));  // natsync takes it from here
      continue;
    }
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain");
    response.body() = "hello from the application\n";
    response.prepare_payload();
    http::write(socket, response, ec);
  }
}
