#include "transport/gated_socket.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <string>
#include <vector>

#include "../tls/test_certificate.hpp"
#include "tls/tls_context.hpp"

using namespace natsync;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A connected pair on loopback: `server` wrapped in a GatedSocket, `client` its peer,
// both with small kernel buffers so that large writes go out in many partial sends.
// With `tls`, the TLS handshake is done first and both sides speak TLS.
struct Pair {
  asio::io_context io;
  tcp::socket client{io};
  std::unique_ptr<natsync::testing::TestCertificate> certificate;
  std::unique_ptr<TlsContext> server_tls;
  asio::ssl::context client_tls{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_client;
  std::unique_ptr<GatedSocket> server;

  explicit Pair(bool tls = false) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.open(tcp::v4());
    client.set_option(asio::socket_base::receive_buffer_size(4096));
    client.connect(acceptor.local_endpoint());
    tcp::socket accepted(io);
    acceptor.accept(accepted);
    accepted.set_option(asio::socket_base::send_buffer_size(4096));
    if (!tls) {
      server = std::make_unique<GatedSocket>(std::move(accepted));
    } else {
      // OpenSSL writes with write(2): a peer that is gone must give EPIPE, not SIGPIPE
      // (the server's workers block it the same way).
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      certificate = std::make_unique<natsync::testing::TestCertificate>();
      server_tls = std::make_unique<TlsContext>(certificate->cert_file(), certificate->key_file());
      auto stream = std::make_unique<TlsSocket>(std::move(accepted), server_tls->current()->native_handle());
      tls_client = std::make_unique<asio::ssl::stream<tcp::socket&>>(client, client_tls);
      int done = 0;
      stream->async_handshake([&](boost::system::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        ++done;
      });
      tls_client->async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        ++done;
      });
      io.run_for(std::chrono::seconds(10));
      io.restart();
      EXPECT_EQ(done, 2);
      server = std::make_unique<GatedSocket>(std::move(stream));
    }
    (void)server->take_handshake_reply();  // past the handshake: writes go to the socket
  }

  // Reads exactly received.size() bytes, as the peer sees them.
  void read_all(std::string& received) {
    auto check = [](boost::system::error_code ec, std::size_t) { EXPECT_FALSE(ec) << ec.message(); };
    if (tls_client) {
      asio::async_read(*tls_client, asio::buffer(received), check);
    } else {
      asio::async_read(client, asio::buffer(received), check);
    }
  }
};

class GatedSocketOver : public ::testing::TestWithParam<bool> {};

struct FreeCounter final : GatedSocket::Listener {
  int calls = 0;
  void on_socket_free() override { ++calls; }
};

}  // namespace

TEST_P(GatedSocketOver, LargeGatherWriteArrivesWholeAndInOrder) {
  Pair pair(GetParam());
  // More buffers than one sendmsg takes, and more bytes than the socket holds.
  std::vector<std::string> parts;
  std::string expected;
  for (int i = 0; i < 600; ++i) {
    parts.push_back(std::string(1000 + i, static_cast<char>('a' + i % 26)));
    expected += parts.back();
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(parts.size());
  for (const auto& part : parts) buffers.emplace_back(asio::buffer(part));

  std::size_t written = 0;
  bool done = false;
  pair.server->async_write(buffers, [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    written = n;
    done = true;
  });
  EXPECT_FALSE(done) << "the socket cannot take 600 KB at once: the write goes on asynchronously";
  EXPECT_TRUE(pair.server->writing());
  std::string received(expected.size(), '\0');
  pair.read_all(received);
  pair.io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
  EXPECT_EQ(written, expected.size());
  EXPECT_EQ(received, expected);
  EXPECT_FALSE(pair.server->writing());
}

TEST_P(GatedSocketOver, AWriteThatComesWhileAnotherRunsWaitsAndThenTheListenerIsTold) {
  Pair pair(GetParam());
  FreeCounter listener;
  pair.server->set_listener(&listener);
  const std::string big(1 << 20, 'd');  // the session's write: far more than the socket holds
  const std::string control = "CONTROL";
  std::vector<std::string> order;
  pair.server->async_write(asio::buffer(big), [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, big.size());
    order.push_back("data");
  });
  // What Beast does for a pong or a close frame.
  pair.server->async_write_some(asio::buffer(control), [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, control.size());
    order.push_back("control");
  });
  std::string received(big.size() + control.size(), '\0');
  pair.read_all(received);
  pair.io.run_for(std::chrono::seconds(20));
  ASSERT_EQ(order, (std::vector<std::string>{"data", "control"}));
  // Never interleaved: the data whole, then the control bytes.
  EXPECT_EQ(received.substr(0, big.size()), big);
  EXPECT_EQ(received.substr(big.size()), control);
  EXPECT_GE(listener.calls, 1);
}

TEST_P(GatedSocketOver, WriteToAClosedPeerFailsWithAnError) {
  Pair pair(GetParam());
  pair.client.close();
  const std::string big(8 << 20, 'x');
  boost::system::error_code result;
  bool done = false;
  pair.server->async_write(asio::buffer(big), [&](boost::system::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  pair.io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
  EXPECT_TRUE(result);
}

TEST(GatedSocket, BeastsHandshakeReplyIsCollectedUntilTaken) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  GatedSocket gated(std::move(socket));  // never opened: nothing may reach it
  std::size_t reported = 0;
  gated.async_write_some(
      asio::buffer(std::string_view("HTTP/1.1 101 ")), [&](boost::system::error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        reported += n;
        gated.async_write_some(asio::buffer(std::string_view("Switching Protocols\r\n\r\n")),
                               [&](boost::system::error_code ec2, std::size_t n2) {
                                 EXPECT_FALSE(ec2);
                                 reported += n2;
                               });
      });
  EXPECT_EQ(reported, 0U) << "completions go through the executor";
  io.run();
  EXPECT_EQ(reported, 36U);
  EXPECT_EQ(gated.take_handshake_reply(), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  EXPECT_FALSE(gated.writing());
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, GatedSocketOver, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Tls" : "Tcp";
                         });
