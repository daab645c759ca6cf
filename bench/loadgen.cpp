// natsync_loadgen: a WebSocket load generator for natsync's JSON protocol.
//
// Scenario "fanout" (the only one so far): S subscriber connections on one topic,
// spread round-robin over one or more server URLs (several nodes of a cluster), and one
// publisher connection that sends `sync` messages at a fixed rate. Every message
// carries its sequence number and send time; subscribers record latency, loss,
// duplicates and order violations, per URL (so local and cross-node delivery are told
// apart). Prints one JSON object.
//
//   natsync_loadgen --pub ws://127.0.0.1:8081/ws/sync --sub ws://127.0.0.1:8081/ws/sync
//       --sub ws://127.0.0.1:8082/ws/sync --subscribers 200 --rate 1000 --seconds 10
//
// The publisher runs on the main thread; subscribers are spread over --threads threads,
// each with its own io_context. It reports its own CPU use (percent of one core) so
// that a reader can check it was not the bottleneck.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  std::string host;
  std::string port;
  std::string path;  // with query
};

Target parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("not a ws:// URL: " + url);
  Target target{std::string(parsed->host()), std::string(parsed->port()),
                std::string(parsed->encoded_path())};
  if (target.port.empty()) target.port = "80";
  if (target.path.empty()) target.path = "/ws/sync";
  return target;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Reads the integer after `"key":` in our own fixed message format.
bool read_field(std::string_view text, std::string_view key, std::int64_t& out) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return false;
  const char* begin = text.data() + at + key.size();
  return std::from_chars(begin, text.data() + text.size(), out).ec == std::errc();
}

// Written by one subscriber thread; `received` is also read by the main thread.
struct Stats {
  std::vector<std::uint32_t> latency_us;
  std::atomic<std::uint64_t> received{0};
  std::uint64_t duplicates_or_reordered = 0;
  std::uint64_t connected = 0;
};

// One WebSocket connection: connect, handshake, optional subscribe, read loop, write queue.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Target target, std::string user, Stats* stats)
      : resolver_(io), ws_(io), target_(std::move(target)), user_(std::move(user)), stats_(stats) {}

  std::function<void()> on_ready;  // after the subscribe ack (subscribers) or the connect message

  void start(std::string topic_to_subscribe) {
    topic_ = std::move(topic_to_subscribe);
    resolver_.async_resolve(target_.host, target_.port, [self = shared_from_this()](auto ec, auto results) {
      if (ec) return self->fail("resolve", ec);
      asio::async_connect(beast::get_lowest_layer(self->ws_), results, [self](auto ec2, auto) {
        if (ec2) return self->fail("connect", ec2);
        beast::get_lowest_layer(self->ws_).set_option(tcp::no_delay(true));
        const auto sep = self->target_.path.find('?') == std::string::npos ? "?" : "&";
        self->ws_.async_handshake(
            self->target_.host, self->target_.path + sep + "user_id=" + self->user_, [self](auto ec3) {
              if (ec3) return self->fail("handshake", ec3);
              if (!self->topic_.empty()) {
                self->send(R"({"type":"subscribe","topic":")" + self->topic_ + R"(","id":1})");
              }
              self->read();
            });
      });
    });
  }

  void send(std::string text) {
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) write();
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

 private:
  void write() {
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](auto ec, std::size_t) {
      if (ec) return self->fail("write", ec);
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->write();
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](auto ec, std::size_t) {
      if (ec) return;  // closed at the end of the run, or by the server
      const auto received_at = now_ns();
      const auto data = self->buffer_.cdata();
      self->on_message(std::string_view(static_cast<const char*>(data.data()), data.size()), received_at);
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void on_message(std::string_view text, std::int64_t received_at) {
    if (text.starts_with(R"({"type":"data")")) {
      std::int64_t seq = 0;
      std::int64_t sent_at = 0;
      if (!read_field(text, R"("s":)", seq) || !read_field(text, R"("t":)", sent_at)) return;
      stats_->received.fetch_add(1, std::memory_order_relaxed);
      if (seq <= last_seq_) ++stats_->duplicates_or_reordered;
      last_seq_ = std::max(last_seq_, seq);
      stats_->latency_us.push_back(
          static_cast<std::uint32_t>(std::max<std::int64_t>(0, received_at - sent_at) / 1000));
      return;
    }
    const bool ready = topic_.empty() ? text.starts_with(R"({"type":"connect")")
                                      : text.starts_with(R"({"type":"subscribe")");
    if (ready && !ready_) {
      ready_ = true;
      ++stats_->connected;
      if (on_ready) on_ready();
    } else if (text.starts_with(R"({"type":"error")")) {
      std::cerr << "server error: " << text << '\n';
    }
  }

  void fail(const char* what, beast::error_code ec) {
    std::cerr << "loadgen: " << what << " " << target_.host << ":" << target_.port << ": " << ec.message()
              << '\n';
  }

  tcp::resolver resolver_;
  websocket::stream<tcp::socket> ws_;
  Target target_;
  std::string user_;
  Stats* stats_;
  std::string topic_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::int64_t last_seq_ = -1;
  bool ready_ = false;
};

double percentile(std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"natsync_loadgen: fanout latency for natsync's WebSocket protocol"};
  std::string pub_url;
  std::vector<std::string> sub_urls;
  int subscribers = 100;
  int rate = 1000;
  double seconds = 10;
  std::string topic = "bench.fanout";
  int threads = 1;
  app.add_option("--pub", pub_url, "publisher URL (ws://host:port/ws/sync)")->required();
  app.add_option("--sub", sub_urls, "subscriber URL(s); subscribers are spread over them")->required();
  app.add_option("--subscribers", subscribers, "subscriber connections in all")->capture_default_str();
  app.add_option("--rate", rate, "messages per second from the publisher")->capture_default_str();
  app.add_option("--seconds", seconds, "publishing time")->capture_default_str();
  app.add_option("--topic", topic, "topic")->capture_default_str();
  app.add_option("--threads", threads, "subscriber threads")->capture_default_str()->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;  // the publisher's
  std::vector<std::unique_ptr<asio::io_context>> sub_ios;
  std::vector<std::vector<Stats>> stats;  // [thread][url]
  for (int t = 0; t < threads; ++t) {
    sub_ios.push_back(std::make_unique<asio::io_context>(1));
    stats.emplace_back(sub_urls.size());
  }
  std::vector<std::shared_ptr<Connection>> subs;
  std::atomic<int> ready{0};
  for (int i = 0; i < subscribers; ++i) {
    const auto which = static_cast<std::size_t>(i) % sub_urls.size();
    const auto thread = static_cast<std::size_t>(i / static_cast<int>(sub_urls.size())) % sub_ios.size();
    auto connection = std::make_shared<Connection>(*sub_ios[thread], parse_target(sub_urls[which]),
                                                   "sub" + std::to_string(i), &stats[thread][which]);
    connection->on_ready = [&ready] { ready.fetch_add(1); };
    connection->start(topic);
    subs.push_back(connection);
  }
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> runners;
  for (auto& sub_io : sub_ios) {
    guards.emplace_back(sub_io->get_executor());
    runners.emplace_back([&sub_io] { sub_io->run(); });
  }
  Stats publisher_stats;
  auto publisher = std::make_shared<Connection>(io, parse_target(pub_url), "publisher", &publisher_stats);
  bool publisher_ready = false;
  publisher->on_ready = [&publisher_ready] { publisher_ready = true; };
  publisher->start({});

  // Wait (bounded) for every connection, then publish at the fixed rate.
  const auto connect_deadline = Clock::now() + std::chrono::seconds(30);
  while ((ready.load() < subscribers || !publisher_ready) && Clock::now() < connect_deadline) {
    io.run_for(std::chrono::milliseconds(10));
  }
  if (ready.load() < subscribers || !publisher_ready) {
    std::cerr << "loadgen: only " << ready.load() << " of " << subscribers << " subscribers ready\n";
    std::_Exit(1);  // threads still run; nothing to clean up for a failed run
  }

  const double cpu_before = cpu_seconds();
  const auto started = Clock::now();
  const auto total = static_cast<std::int64_t>(rate * seconds);
  std::int64_t sent = 0;
  asio::steady_timer tick(io);
  std::function<void()> publish_due = [&] {
    const auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const auto due = std::min(total, static_cast<std::int64_t>(elapsed * rate) + 1);
    for (; sent < due; ++sent) {
      publisher->send(R"({"type":"sync","topic":")" + topic + R"(","data":{"s":)" + std::to_string(sent) +
                      R"(,"t":)" + std::to_string(now_ns()) + "}}");
    }
    if (sent < total) {
      tick.expires_after(std::chrono::microseconds(std::max(100, 1'000'000 / std::max(rate, 1) / 2)));
      tick.async_wait([&](auto ec) {
        if (!ec) publish_due();
      });
    }
  };
  publish_due();
  const std::uint64_t expected_per_url_base = static_cast<std::uint64_t>(total);
  auto all_received = [&] {
    std::uint64_t got = 0;
    for (auto& per_thread : stats) {
      for (auto& s : per_thread) got += s.received.load(std::memory_order_relaxed);
    }
    return got >= expected_per_url_base * static_cast<std::uint64_t>(subscribers);
  };
  const auto end = started +
                   std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)) +
                   std::chrono::seconds(5);
  while (!(sent == total && all_received()) && Clock::now() < end) io.run_for(std::chrono::milliseconds(5));
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  const double cpu = cpu_seconds() - cpu_before;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const auto thread = (i / sub_urls.size()) % sub_ios.size();
    asio::post(*sub_ios[thread], [connection = subs[i]] { connection->close(); });
  }
  publisher->close();
  io.run_for(std::chrono::milliseconds(100));
  guards.clear();
  for (auto& sub_io : sub_ios) sub_io->stop();
  for (auto& runner : runners) runner.join();

  std::printf(
      "{\"subscribers\":%d,\"rate\":%d,\"seconds\":%.1f,\"published\":%lld,\"threads\":%d,"
      "\"loadgen_cpu_percent\":%.1f,\"by_url\":[",
      subscribers, rate, seconds, static_cast<long long>(sent), threads + 1, 100.0 * cpu / wall);
  for (std::size_t u = 0; u < sub_urls.size(); ++u) {
    Stats s;  // this URL's figures from every thread
    for (auto& per_thread : stats) {
      auto& part = per_thread[u];
      s.latency_us.insert(s.latency_us.end(), part.latency_us.begin(), part.latency_us.end());
      s.received += part.received.load();
      s.duplicates_or_reordered += part.duplicates_or_reordered;
    }
    std::sort(s.latency_us.begin(), s.latency_us.end());
    const auto subs_here = static_cast<std::uint64_t>(
        (subscribers + static_cast<int>(sub_urls.size() - 1 - u)) / static_cast<int>(sub_urls.size()));
    const auto expected = subs_here * static_cast<std::uint64_t>(sent);
    std::printf(
        "%s{\"url\":\"%s\",\"subscribers\":%llu,\"received\":%llu,\"lost\":%lld,\"out_of_order\":%llu,"
        "\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f}}",
        u ? "," : "", sub_urls[u].c_str(), static_cast<unsigned long long>(subs_here),
        static_cast<unsigned long long>(s.received),
        static_cast<long long>(expected) - static_cast<long long>(s.received),
        static_cast<unsigned long long>(s.duplicates_or_reordered), percentile(s.latency_us, 50),
        percentile(s.latency_us, 90), percentile(s.latency_us, 99), percentile(s.latency_us, 99.9),
        s.latency_us.empty() ? 0.0 : static_cast<double>(s.latency_us.back()));
  }
  std::printf("]}\n");
  return 0;
}
