#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

using namespace std::chrono_literals;
using natsync::load_config;

namespace {

natsync::ConfigOutcome load(std::vector<const char*> args) {
  args.insert(args.begin(), "natsync");
  return load_config(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST(Config, DefaultsMatchTheSpec) {
  auto outcome = load({});
  ASSERT_TRUE(outcome.config) << outcome.message;
  const auto& c = *outcome.config;
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_EQ(c.ws_ping_interval, 54s);
  EXPECT_EQ(c.ws_pong_wait, 60s);
  EXPECT_EQ(c.ws_max_message_size, 64U * 1024);
  EXPECT_EQ(c.auth_timeout, 10s);
  EXPECT_GE(c.worker_threads, 1U);
  EXPECT_TRUE(c.jwt_secret.empty());
  EXPECT_EQ(c.max_connections, 0U);
  EXPECT_EQ(c.max_subscriptions_per_connection, 1000U);
  EXPECT_EQ(c.max_topic_length, 256U);
  EXPECT_EQ(c.ws_message_rate, 1000U);
  EXPECT_EQ(c.ws_message_burst, 1000U);
  EXPECT_TRUE(c.ws_echo_path.empty());
}

TEST(Config, FlagsOverrideDefaults) {
  auto outcome = load({"--listen-addr", "[::1]:0", "--ws-ping-interval", "200ms", "--ws-pong-wait", "1s",
                       "--allowed-origins", "https://a.example, https://b.example", "--worker-threads", "3",
                       "--log-level", "debug"});
  ASSERT_TRUE(outcome.config) << outcome.message;
  const auto& c = *outcome.config;
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.ws_ping_interval, 200ms);
  EXPECT_EQ(c.ws_pong_wait, 1s);
  EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.worker_threads, 3U);
  EXPECT_EQ(c.log_level, natsync::LogLevel::debug);
}

TEST(Config, EnvironmentIsRead) {
  ::setenv("WS_MAX_MESSAGE_SIZE", "1000", 1);
  ::setenv("PORT", "9999", 1);
  auto outcome = load({});
  ::unsetenv("WS_MAX_MESSAGE_SIZE");
  ::unsetenv("PORT");
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_EQ(outcome.config->ws_max_message_size, 1000U);
  EXPECT_EQ(outcome.config->listen.port, 9999);
}

TEST(Config, BadValuesExitWithOneClearLine) {
  struct Case {
    std::vector<const char*> args;
    const char* names;
  };
  const Case cases[] = {
      {{"--ws-ping-interval", "soon"}, "WS_PING_INTERVAL"},
      {{"--ws-pong-wait", "10s", "--ws-ping-interval", "20s"}, "WS_PONG_WAIT"},
      {{"--listen-addr", "nonsense"}, "LISTEN_ADDR"},
      {{"--listen-addr", "1.2.3.4:70000"}, "LISTEN_ADDR"},
      {{"--port", "-1"}, "PORT"},
      {{"--ws-max-message-size", "12abc"}, "WS_MAX_MESSAGE_SIZE"},
      {{"--log-level", "loud"}, "LOG_LEVEL"},
      {{"--worker-threads", "99999"}, "WORKER_THREADS"},
      {{"--no-such-flag"}, "no-such-flag"},
      {{"--jwt-leeway", "2h"}, "JWT_LEEWAY"},
      {{"--auth-timeout", "0s"}, "AUTH_TIMEOUT"},
      {{"--shutdown-timeout", "9999999h"}, "SHUTDOWN_TIMEOUT"},
      {{"--ws-pong-wait", "25h"}, "WS_PONG_WAIT"},
      {{"--ws-echo-path", "ws/echo"}, "WS_ECHO_PATH"},
      {{"--max-topic-length", "257"}, "MAX_TOPIC_LENGTH"},
      {{"--max-topic-length", "0"}, "MAX_TOPIC_LENGTH"},
      {{"--ws-message-burst", "0"}, "WS_MESSAGE_BURST"},
      {{"--ws-message-rate", "-5"}, "WS_MESSAGE_RATE"},
      {{"--max-connections-per-ip", "many"}, "MAX_CONNECTIONS_PER_IP"},
      {{"--ws-echo-path", "/ws/sync"}, "WS_ECHO_PATH"},
  };
  for (const auto& c : cases) {
    auto outcome = load(c.args);
    EXPECT_FALSE(outcome.config) << c.names;
    EXPECT_NE(outcome.exit_code, 0) << c.names;
    EXPECT_NE(outcome.message.find(c.names), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.message.find('\n'), std::string::npos) << outcome.message;
  }
}

TEST(Config, HelpListsEverySettingWithItsVariable) {
  auto outcome = load({"--help"});
  EXPECT_FALSE(outcome.config);
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* env : {"LISTEN_ADDR", "PORT", "JWT_SECRET", "SYNC_API_KEY", "WS_READ_BUFFER_SIZE",
                          "WS_WRITE_BUFFER_SIZE", "WS_PING_INTERVAL", "WS_PONG_WAIT", "WS_MAX_MESSAGE_SIZE",
                          "ALLOWED_ORIGINS", "LOG_LEVEL", "WORKER_THREADS", "NATS_URL"}) {
    EXPECT_NE(outcome.message.find(env), std::string::npos) << env;
  }
}

TEST(Config, ListenAddressForms) {
  EXPECT_EQ(natsync::parse_listen_address(":8080")->host, "0.0.0.0");
  EXPECT_EQ(natsync::parse_listen_address("127.0.0.1:1")->port, 1);
  EXPECT_FALSE(natsync::parse_listen_address("::1:80"));
  EXPECT_FALSE(natsync::parse_listen_address("host:"));
  EXPECT_FALSE(natsync::parse_listen_address("host:8o"));
}
