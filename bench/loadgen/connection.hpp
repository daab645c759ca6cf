#pragma once
// One load generator connection to a server under test, in one of four dialects:
// natsync's JSON over WebSocket, NATS over WebSocket (nats-server's listener), NATS over
// TCP (publishing into a natsync cluster through nats-server) and HTTP/1.1 (natsync's
// REST publish, pipelined on one keep-alive connection).
//
// It reads whatever the socket holds with one non-blocking read per readiness event
// into its thread's scratch buffer and splits it in place; only an incomplete tail is
// copied. Writes are appended to one outbound string and sent as one write.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

struct Endpoint {
  enum class Kind { natsync_ws, nats_ws, nats_tcp, rest };
  Kind kind = Kind::natsync_ws;
  boost::asio::ip::tcp::endpoint address;
  std::string host;               // for Host headers
  std::string path = "/ws/sync";  // WebSocket path and query (user_id is added)
  std::string api_key;            // REST: X-API-Key
  std::string subject_prefix;     // nats_tcp into natsync: "<prefix>.t." before the topic
};

// Parses ws://, nats://, http:// URLs; `protocol` says what a ws:// URL speaks
// ("natsync" or "nats").
Endpoint parse_endpoint(const std::string& url, const std::string& protocol);

// What a connection reports; shared by many connections of one thread.
struct ConnectionEvents {
  std::function<void(class Connection&)> ready;  // open, and subscribed if it was asked to
  std::function<void(class Connection&, std::string_view data, std::int64_t received_ns)> delivery;
  std::function<void(class Connection&, std::string_view why)> failed;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::io_context& io, const Endpoint& endpoint, ConnectionEvents& events,
             std::vector<char>& scratch, std::size_t index);

  // Connects (from `source` when it is not unspecified), upgrades or says CONNECT, and
  // subscribes to `topic` when it is not empty.
  void start(std::string user, std::string topic, const boost::asio::ip::address& source);
  // Queues one message to `topic` and sends what is queued unless a write is in flight.
  void publish(std::string_view topic, std::string_view payload);
  // Subscribes an open connection to `topic`; `ready` is reported again once applied.
  void subscribe(std::string topic);
  void close();

  std::size_t index() const { return index_; }
  bool is_ready() const { return state_ == State::ready; }
  std::uint64_t rest_errors() const { return rest_errors_; }
  std::uint64_t rest_replies() const { return rest_replies_; }

  // Per-publisher last sequence seen, for order checks (owned by the scenario).
  std::vector<std::int64_t> last_sequence;

 private:
  enum class State { connecting, upgrading, opening, ready, closed };

  void on_connected();
  void wait_readable();
  void on_readable();
  // Consumes what it can of `bytes`; returns how much.
  std::size_t process(std::string_view bytes);
  template <class Item, class Parse, class Handle>
  std::size_t consume(std::string_view bytes, Parse parse, std::string_view invalid, Handle handle);
  std::size_t process_frames(std::string_view bytes);
  std::size_t process_nats(std::string_view bytes);
  std::size_t process_rest(std::string_view bytes);
  void on_message(std::string_view message);
  void on_open();
  void became_ready();
  void send(std::string_view bytes);
  void send_message(std::string_view message);  // framed for WebSocket kinds
  void do_write();
  void fail(std::string_view why);

  boost::asio::ip::tcp::socket socket_;
  const Endpoint& endpoint_;
  ConnectionEvents& events_;
  std::vector<char>& scratch_;
  std::size_t index_;
  std::string user_;
  std::string topic_;
  State state_ = State::connecting;
  std::string inbox_;        // an incomplete tail of what was read
  std::string nats_stream_;  // NATS over WebSocket: protocol bytes across frames
  std::string fragments_;    // a fragmented WebSocket message so far
  std::string outbox_;
  std::string in_flight_;
  bool writing_ = false;
  std::uint64_t rest_errors_ = 0;
  std::uint64_t rest_replies_ = 0;
};

}  // namespace loadgen
