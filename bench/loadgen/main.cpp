// natsync_loadgen: the load generator of natsync's benchmark suite (docs/benchmarks.md).
//
// Scenarios (--scenario):
//   fanout   S subscribers on one topic, P publishers; either --window W (each
//            publisher keeps at most W messages not yet received by every subscriber:
//            a sustainable maximum, not a queue) or --rate R messages/s in all.
//   topics   S subscribers, each on its own topic; publishers send --rate R messages/s
//            in all, each to a random topic.
//   connect  C connections as fast as --connect-concurrency allows: handshakes/s, and
//            the server's RSS per connection (--server-pid) idle and with one
//            subscription each.
// Servers: natsync (ws://…/ws/sync), nats-server's WebSocket listener (ws://… with
// --protocol nats), a Node `ws` server speaking natsync's JSON (ws://…). Publishers may
// also use natsync's REST API (http://host:port) or NATS over TCP into a natsync
// cluster (nats://host:port with --subject-prefix natsync.t.).
//
// Every payload carries its publisher, sequence number and send time; subscribers count
// deliveries, losses and order violations and record latency. The output is one JSON
// object, including the load generator's own CPU use (whole process and its busiest
// thread), so that a reader can tell when it, not the server, was the limit.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "histogram.hpp"
#include "wire.hpp"

namespace asio = boost::asio;
using loadgen::Connection;
using loadgen::Endpoint;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string scenario = "fanout";
  std::vector<std::string> sub_urls;
  std::string pub_url;
  std::string protocol = "natsync";
  int subscribers = 1000;
  int publishers = 1;
  int window = 0;
  double rate = 0;
  double seconds = 5;
  std::size_t size = 64;
  std::string topic = "bench.fanout";
  int threads = 1;
  int source_ips = 4;
  int server_pid = 0;
  int connect_concurrency = 256;
  bool subscribe_each = false;
  std::string subject_prefix;
  std::string api_key;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The server's resident memory in KiB (0 without --server-pid).
long server_rss_kib(int pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

// The server's CPU time in seconds (utime + stime).
double server_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // state … cmajflt
  double utime = 0;
  double stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one;
  file >> one;
  return one;
}

// What one non-blocking read may take from a socket (per thread).
constexpr std::size_t kScratchBytes = std::size_t{256} * 1024;

// Each publisher's window: a ring of per-message delivery counts. A message is
// complete when every subscriber has it; since each subscriber receives a publisher's
// messages in order, messages complete in order too.
class Window {
 public:
  Window(int publishers, int size, int recipients)
      : size_(size), recipients_(static_cast<std::uint32_t>(recipients)), completed_(publishers) {
    for (int p = 0; p < publishers; ++p) hits_.emplace_back(new std::atomic<std::uint32_t>[kRing]());
  }
  int size() const { return size_; }
  std::int64_t completed(int publisher) const {
    return completed_[publisher].load(std::memory_order_acquire);
  }

  // Returns true when this delivery completed message `sequence`.
  bool delivered(int publisher, std::int64_t sequence) {
    auto& slot = hits_[publisher][static_cast<std::size_t>(sequence) % kRing];
    if (slot.fetch_add(1, std::memory_order_acq_rel) + 1 != recipients_) return false;
    slot.store(0, std::memory_order_relaxed);
    auto& done = completed_[publisher];
    auto seen = done.load(std::memory_order_relaxed);
    while (seen < sequence + 1 &&
           !done.compare_exchange_weak(seen, sequence + 1, std::memory_order_acq_rel)) {
    }
    return true;
  }

  static constexpr std::size_t kRing = 4096;

 private:
  int size_;
  std::uint32_t recipients_;
  std::vector<std::unique_ptr<std::atomic<std::uint32_t>[]>> hits_;
  std::vector<std::atomic<std::int64_t>> completed_;
};

// One subscriber thread: its io_context, its connections and its share of the figures.
struct SubscriberThread {
  asio::io_context io{1};
  std::vector<char> scratch = std::vector<char>(kScratchBytes);
  loadgen::ConnectionEvents events;
  std::vector<std::shared_ptr<Connection>> connections;
  std::vector<std::string> topics;  // per connection (empty: none)
  std::size_t next_to_start = 0;
  loadgen::Histogram latency;
  // Per subscriber URL when there are several (cluster runs: local vs cross-node).
  std::vector<loadgen::Histogram> latency_by_url;
  std::vector<std::uint64_t> received_by_url;
  std::atomic<std::uint64_t> received{0};
  std::uint64_t out_of_order = 0;
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  double cpu_at_start = 0;
  std::atomic<double> cpu_busy{0};
  std::thread thread;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"natsync_loadgen: benchmark load for natsync and its peers (docs/benchmarks.md)"};
  app.add_option("--scenario", o.scenario, "fanout | topics | connect")->capture_default_str();
  app.add_option("--sub", o.sub_urls, "subscriber URL(s); connections are spread over them")->required();
  app.add_option("--pub", o.pub_url, "publisher URL: ws:// (sync or NATS PUB), http:// (REST), nats://");
  app.add_option("--protocol", o.protocol, "what ws:// URLs speak: natsync | nats")->capture_default_str();
  app.add_option("--subscribers", o.subscribers, "subscriber connections (connect: connections)")
      ->capture_default_str();
  app.add_option("--publishers", o.publishers, "publisher connections")->capture_default_str();
  app.add_option("--window", o.window, "fanout: messages in flight per publisher (max rate)");
  app.add_option("--rate", o.rate, "messages per second from all publishers together");
  app.add_option("--seconds", o.seconds, "publishing time")->capture_default_str();
  app.add_option("--size", o.size, "payload bytes")->capture_default_str()->check(CLI::Range(48, 1 << 20));
  app.add_option("--topic", o.topic, "fanout topic; topics: prefix of the per-subscriber topics")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "subscriber threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option(
         "--source-ips", o.source_ips,
         "spread connections over 127.0.0.1..N (cheaper connect() past ~10k connections; needed past ~28k)")
      ->capture_default_str()
      ->check(CLI::Range(1, 250));
  app.add_option("--server-pid", o.server_pid, "server process: RSS and CPU are read from /proc");
  app.add_option("--connect-concurrency", o.connect_concurrency, "handshakes in flight")
      ->capture_default_str();
  app.add_flag("--subscribe-each", o.subscribe_each,
               "connect: then subscribe each connection to its own topic");
  app.add_option("--subject-prefix", o.subject_prefix, "nats:// publishers: subject prefix before the topic");
  app.add_option("--api-key", o.api_key, "http:// publishers: X-API-Key");
  CLI11_PARSE(app, argc, argv);
  const bool connect_only = o.scenario == "connect";
  if (!connect_only && o.pub_url.empty()) o.pub_url = o.sub_urls.front();
  if (o.scenario == "topics" && o.rate <= 0) o.rate = 1000;
  if (o.scenario == "fanout" && o.window <= 0 && o.rate <= 0) o.window = 16;
  if (o.window > static_cast<int>(Window::kRing) / 2) {
    std::cerr << "loadgen: --window at most " << Window::kRing / 2 << "\n";
    return 2;
  }

  std::vector<Endpoint> sub_endpoints;
  for (const auto& url : o.sub_urls) sub_endpoints.push_back(loadgen::parse_endpoint(url, o.protocol));
  Endpoint pub_endpoint;
  if (!connect_only) {
    pub_endpoint = loadgen::parse_endpoint(o.pub_url, o.protocol);
    pub_endpoint.api_key = o.api_key;
    pub_endpoint.subject_prefix = o.subject_prefix;
  }

  std::unique_ptr<Window> window;
  if (o.scenario == "fanout" && o.window > 0)
    window = std::make_unique<Window>(o.publishers, o.window, o.subscribers);

  asio::io_context main_io{1};
  // Keeps main_io.run_for() waiting instead of returning at once (a busy loop on the
  // core the subscriber threads share) while the main thread has nothing to do.
  auto main_work = asio::make_work_guard(main_io);
  std::vector<std::unique_ptr<SubscriberThread>> threads;
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::atomic<std::uint64_t> failure_count{0};
  std::vector<std::shared_ptr<Connection>> publishers;
  std::function<void(int)> pump;  // window mode: send what the window allows (main thread)

  for (int t = 0; t < o.threads; ++t) {
    threads.push_back(std::make_unique<SubscriberThread>());
    if (o.sub_urls.size() > 1) {
      threads.back()->latency_by_url.resize(o.sub_urls.size());
      threads.back()->received_by_url.resize(o.sub_urls.size());
    }
  }
  for (int i = 0; i < o.subscribers; ++i) {
    auto& th = *threads[static_cast<std::size_t>(i % o.threads)];
    const auto& endpoint = sub_endpoints[static_cast<std::size_t>(i) % sub_endpoints.size()];
    th.connections.push_back(std::make_shared<Connection>(th.io, endpoint, th.events, th.scratch, i));
    th.connections.back()->last_sequence.assign(static_cast<std::size_t>(o.publishers), -1);
    if (o.scenario == "fanout") {
      th.topics.push_back(o.topic);
    } else if (o.scenario == "topics") {
      th.topics.push_back(o.topic + "." + std::to_string(i));
    } else {
      th.topics.emplace_back();
    }
  }
  auto source_address = [&](std::size_t index) {
    if (o.source_ips <= 1) return asio::ip::address();
    return asio::ip::address(asio::ip::address_v4(
        0x7f000001U + static_cast<std::uint32_t>(index % static_cast<std::size_t>(o.source_ips))));
  };
  const int per_thread_concurrency = std::max(1, o.connect_concurrency / o.threads);
  for (auto& th_ptr : threads) {
    auto* th = th_ptr.get();
    auto start_next = [th, &source_address] {
      if (th->next_to_start >= th->connections.size()) return;
      const auto i = th->next_to_start++;
      auto& c = th->connections[i];
      c->start("sub" + std::to_string(c->index()), th->topics[i], source_address(c->index()));
    };
    th->events.ready = [th, start_next](Connection&) {
      th->ready.fetch_add(1, std::memory_order_release);
      start_next();
    };
    th->events.failed = [th, start_next, &failures_mutex, &failures, &failure_count](Connection& c,
                                                                                     std::string_view why) {
      th->failed.fetch_add(1);
      if (failure_count.fetch_add(1) < 5) {
        std::lock_guard lock(failures_mutex);
        failures.push_back("connection " + std::to_string(c.index()) + ": " + std::string(why));
      }
      start_next();
    };
    th->events.delivery = [th, &window, &main_io, &pump](Connection& c, std::string_view data,
                                                         std::int64_t at) {
      loadgen::PayloadFields fields;
      if (!loadgen::read_payload(data, fields)) return;
      th->received.fetch_add(1, std::memory_order_relaxed);
      const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(0, at - fields.sent_ns) / 1000);
      th->latency.record(micros);
      if (!th->latency_by_url.empty()) {
        const auto url = c.index() % th->latency_by_url.size();
        th->latency_by_url[url].record(micros);
        ++th->received_by_url[url];
      }
      if (fields.publisher < 0 || static_cast<std::size_t>(fields.publisher) >= c.last_sequence.size())
        return;
      auto& last = c.last_sequence[static_cast<std::size_t>(fields.publisher)];
      if (fields.sequence <= last) ++th->out_of_order;
      last = std::max(last, fields.sequence);
      if (window && window->delivered(fields.publisher, fields.sequence)) {
        asio::post(main_io, [&pump, p = fields.publisher] { pump(p); });
      }
    };
  }

  // ---- connect everything (bounded concurrency per thread) ----
  auto total = [&](auto member) {
    std::int64_t sum = 0;
    for (auto& th : threads) sum += ((*th).*member).load();
    return sum;
  };
  const long rss_before = server_rss_kib(o.server_pid);
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  const auto connect_started = Clock::now();
  for (auto& th_ptr : threads) {
    auto* th = th_ptr.get();
    guards.emplace_back(th->io.get_executor());
    asio::post(th->io, [th, per_thread_concurrency, &source_address] {
      for (int k = 0; k < per_thread_concurrency && th->next_to_start < th->connections.size(); ++k) {
        const auto i = th->next_to_start++;
        auto& c = th->connections[i];
        c->start("sub" + std::to_string(c->index()), th->topics[i], source_address(c->index()));
      }
    });
    th->thread = std::thread([th] { th->io.run(); });
  }
  loadgen::ConnectionEvents publisher_events;
  std::vector<char> publisher_scratch(kScratchBytes);
  int publishers_ready = 0;
  publisher_events.ready = [&](Connection&) { ++publishers_ready; };
  publisher_events.failed = [&](Connection& c, std::string_view why) {
    failure_count.fetch_add(1);
    std::lock_guard lock(failures_mutex);
    failures.push_back("publisher " + std::to_string(c.index()) + ": " + std::string(why));
  };
  if (!connect_only) {
    for (int p = 0; p < o.publishers; ++p) {
      publishers.push_back(std::make_shared<Connection>(main_io, pub_endpoint, publisher_events,
                                                        publisher_scratch, static_cast<std::size_t>(p)));
      publishers.back()->start("pub" + std::to_string(p), {}, {});
    }
  }
  const auto connect_deadline = Clock::now() + std::chrono::seconds(120);
  while ((total(&SubscriberThread::ready) + total(&SubscriberThread::failed) < o.subscribers ||
          publishers_ready + static_cast<int>(failure_count.load()) < static_cast<int>(publishers.size())) &&
         Clock::now() < connect_deadline) {
    main_io.run_for(std::chrono::milliseconds(1));
  }
  const double connect_seconds = seconds_since(connect_started);
  const auto connected = total(&SubscriberThread::ready);

  auto print_failures = [&] {
    std::string out = "[";
    std::lock_guard lock(failures_mutex);
    for (std::size_t i = 0; i < failures.size(); ++i) {
      std::string escaped;
      for (char ch : failures[i]) {
        if (ch == '"' || ch == '\\') escaped.push_back('\\');
        if (static_cast<unsigned char>(ch) >= 0x20) escaped.push_back(ch);
      }
      out += (i ? ",\"" : "\"") + escaped + "\"";
    }
    return out + "]";
  };
  auto shutdown = [&] {
    for (auto& th : threads) {
      asio::post(th->io, [th = th.get()] {
        for (auto& c : th->connections) c->close();
      });
    }
    for (auto& p : publishers) p->close();
    guards.clear();
    for (auto& th : threads) th->thread.join();
    main_work.reset();
    main_io.poll();
  };

  std::printf("{\"scenario\":\"%s\",\"protocol\":\"%s\",\"load_average\":%s,\"subscribers\":%d,",
              o.scenario.c_str(), o.protocol.c_str(), load_average().c_str(), o.subscribers);
  std::printf("\"connected\":%lld,\"connect_seconds\":%.3f,\"handshakes_per_s\":%.0f,",
              static_cast<long long>(connected), connect_seconds,
              static_cast<double>(connected) / std::max(connect_seconds, 1e-9));

  if (connect_only) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server settle
    const long rss_idle = server_rss_kib(o.server_pid);
    long rss_subscribed = 0;
    if (o.subscribe_each) {
      for (auto& th : threads) th->ready.store(0);
      for (auto& th_ptr : threads) {
        auto* th = th_ptr.get();
        asio::post(th->io, [th, &o] {
          for (auto& c : th->connections) {
            if (c->is_ready()) c->subscribe(o.topic + ".c" + std::to_string(c->index()));
          }
        });
      }
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (total(&SubscriberThread::ready) < connected && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
      rss_subscribed = server_rss_kib(o.server_pid);
    }
    const auto per_connection = [&](long rss) {
      return connected > 0 && rss > 0 ? static_cast<double>(rss - rss_before) / static_cast<double>(connected)
                                      : 0.0;
    };
    std::printf(
        "\"server_rss_kib\":{\"before\":%ld,\"idle\":%ld,\"subscribed\":%ld},"
        "\"rss_per_connection_kib\":{\"idle\":%.2f,\"subscribed\":%.2f},\"failed\":%llu,\"failures\":%s}\n",
        rss_before, rss_idle, rss_subscribed, per_connection(rss_idle), per_connection(rss_subscribed),
        static_cast<unsigned long long>(failure_count.load()), print_failures().c_str());
    shutdown();
    return connected == o.subscribers ? 0 : 1;
  }

  if (connected < o.subscribers || publishers_ready < o.publishers) {
    std::printf("\"error\":\"only %lld of %d subscribers and %d of %d publishers ready\",\"failures\":%s}\n",
                static_cast<long long>(connected), o.subscribers, publishers_ready, o.publishers,
                print_failures().c_str());
    shutdown();
    return 1;
  }

  // ---- publish ----
  std::vector<std::int64_t> sent(static_cast<std::size_t>(o.publishers), 0);
  std::mt19937_64 random(42);
  const auto topic_count = static_cast<std::uint64_t>(o.subscribers);
  auto send_one = [&](int p) {
    const auto seq = sent[static_cast<std::size_t>(p)]++;
    const auto payload = loadgen::make_payload(p, seq, now_ns(), o.size);
    if (o.scenario == "topics") {
      publishers[static_cast<std::size_t>(p)]->publish(o.topic + "." + std::to_string(random() % topic_count),
                                                       payload);
    } else {
      publishers[static_cast<std::size_t>(p)]->publish(o.topic, payload);
    }
  };
  const auto started = Clock::now();
  const auto publish_for =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  const auto stop_at = started + publish_for;
  bool publishing = true;
  pump = [&](int p) {
    if (!publishing) return;
    while (sent[static_cast<std::size_t>(p)] - window->completed(p) < window->size()) send_one(p);
  };
  // CPU and delivery snapshots after a warm-up and at the end of publishing.
  const auto warmup = std::min(publish_for / 5, Clock::duration(std::chrono::seconds(1)));
  struct Snapshot {
    Clock::time_point at;
    std::uint64_t received = 0;
    double cpu = 0;
    double server_cpu = 0;
  };
  auto snapshot = [&] {
    Snapshot s{Clock::now(), static_cast<std::uint64_t>(total(&SubscriberThread::received)),
               process_cpu_seconds(), server_cpu_seconds(o.server_pid)};
    return s;
  };
  auto thread_cpu_mark = [&](bool start) {
    std::atomic<int> done{0};
    for (auto& th_ptr : threads) {
      auto* th = th_ptr.get();
      asio::post(th->io, [th, start, &done] {
        if (start) {
          th->cpu_at_start = thread_cpu_seconds();
        } else {
          th->cpu_busy.store(thread_cpu_seconds() - th->cpu_at_start);
        }
        done.fetch_add(1);
      });
    }
    while (done.load() < static_cast<int>(threads.size()))
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  };
  Snapshot first;
  double main_cpu_start = 0;
  bool warmed = false;
  asio::steady_timer warm_timer(main_io);
  warm_timer.expires_at(started + warmup);
  warm_timer.async_wait([&](boost::system::error_code) {
    thread_cpu_mark(true);
    main_cpu_start = thread_cpu_seconds();
    first = snapshot();
    warmed = true;
  });
  asio::steady_timer tick(main_io);
  std::function<void()> publish_due = [&] {
    const auto elapsed = seconds_since(started);
    const auto due = std::min(static_cast<std::int64_t>(o.rate * o.seconds),
                              static_cast<std::int64_t>(elapsed * o.rate) + 1);
    std::int64_t all = 0;
    for (auto s : sent) all += s;
    for (; all < due; ++all) send_one(static_cast<int>(all % o.publishers));
    if (Clock::now() < stop_at) {
      tick.expires_after(
          std::chrono::microseconds(std::clamp(static_cast<int>(250'000 / std::max(o.rate, 1.0)), 50, 5000)));
      tick.async_wait([&](boost::system::error_code ec) {
        if (!ec) publish_due();
      });
    }
  };
  if (window) {
    for (int p = 0; p < o.publishers; ++p) pump(p);
  } else {
    publish_due();
  }
  while (Clock::now() < stop_at) main_io.run_for(std::chrono::milliseconds(5));
  publishing = false;
  const auto last = snapshot();
  const long server_rss_at_end = server_rss_kib(o.server_pid);
  const double main_cpu = thread_cpu_seconds() - main_cpu_start;
  thread_cpu_mark(false);
  std::int64_t total_sent = 0;
  for (auto s : sent) total_sent += s;
  const auto expected = static_cast<std::uint64_t>(total_sent) *
                        (o.scenario == "fanout" ? static_cast<std::uint64_t>(o.subscribers) : 1U);
  // Drain: what was sent before the end must still arrive (bounded).
  const auto drain_deadline = Clock::now() + std::chrono::seconds(10);
  while (static_cast<std::uint64_t>(total(&SubscriberThread::received)) < expected &&
         Clock::now() < drain_deadline) {
    main_io.run_for(std::chrono::milliseconds(5));
  }
  shutdown();

  loadgen::Histogram latency;
  std::uint64_t out_of_order = 0;
  double busiest_thread = main_cpu;
  for (auto& th : threads) {
    latency.merge(th->latency);
    out_of_order += th->out_of_order;
    busiest_thread = std::max(busiest_thread, th->cpu_busy.load());
  }
  const auto received = static_cast<std::uint64_t>(total(&SubscriberThread::received));
  const double measured = warmed ? std::chrono::duration<double>(last.at - first.at).count() : 0;
  const double rate = measured > 0 ? static_cast<double>(last.received - first.received) / measured : 0;
  std::uint64_t rest_errors = 0;
  for (auto& p : publishers) rest_errors += p->rest_errors();
  if (o.sub_urls.size() > 1) {
    std::printf("\"by_url\":[");
    for (std::size_t u = 0; u < o.sub_urls.size(); ++u) {
      loadgen::Histogram h;
      std::uint64_t got = 0;
      for (auto& th : threads) {
        h.merge(th->latency_by_url[u]);
        got += th->received_by_url[u];
      }
      std::printf(
          "%s{\"url\":\"%s\",\"received\":%llu,\"latency_us\":{\"p50\":%llu,\"p99\":%llu,\"max\":%llu}}",
          u ? "," : "", o.sub_urls[u].c_str(), static_cast<unsigned long long>(got),
          static_cast<unsigned long long>(h.percentile(50)),
          static_cast<unsigned long long>(h.percentile(99)), static_cast<unsigned long long>(h.max()));
    }
    std::printf("],");
  }
  std::printf(
      "\"publishers\":%d,\"window\":%d,\"rate\":%.0f,\"seconds\":%.1f,\"size\":%zu,\"published\":%lld,"
      "\"expected\":%llu,\"received\":%llu,\"lost\":%lld,\"out_of_order\":%llu,\"publish_errors\":%llu,"
      "\"deliveries_per_s\":%.0f,\"latency_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,"
      "\"max\":%llu},"
      "\"loadgen_cpu_percent\":%.1f,\"loadgen_busiest_thread_percent\":%.1f,\"loadgen_threads\":%d,"
      "\"server_cpu_percent\":%.1f,\"server_rss_kib\":%ld,\"failed\":%llu,\"failures\":%s}\n",
      o.publishers, o.window, o.rate, o.seconds, o.size, static_cast<long long>(total_sent),
      static_cast<unsigned long long>(expected), static_cast<unsigned long long>(received),
      static_cast<long long>(expected) - static_cast<long long>(received),
      static_cast<unsigned long long>(out_of_order), static_cast<unsigned long long>(rest_errors), rate,
      static_cast<unsigned long long>(latency.percentile(50)),
      static_cast<unsigned long long>(latency.percentile(90)),
      static_cast<unsigned long long>(latency.percentile(99)),
      static_cast<unsigned long long>(latency.percentile(99.9)),
      static_cast<unsigned long long>(latency.max()),
      measured > 0 ? 100.0 * (last.cpu - first.cpu) / measured : 0.0,
      measured > 0 ? 100.0 * busiest_thread / measured : 0.0, o.threads + 1,
      measured > 0 ? 100.0 * (last.server_cpu - first.server_cpu) / measured : 0.0, server_rss_at_end,
      static_cast<unsigned long long>(failure_count.load()), print_failures().c_str());
  return received == expected && out_of_order == 0 && rest_errors == 0 ? 0 : 1;
}
