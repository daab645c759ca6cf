#include "jetstream/jetstream_client.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <random>

#include "broker/nats_options.hpp"
#include "protocol/server_message.hpp"

namespace natsync {
namespace {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(length);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

}  // namespace

std::string hex(std::string_view bytes) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(digits[byte >> 4U]);
    out.push_back(digits[byte & 0x0FU]);
  }
  return out;
}

std::string stream_name(std::string_view subject_prefix, std::string_view suffix) {
  std::string name;
  for (const char c : subject_prefix) {
    const bool plain =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    name.push_back(plain ? static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c) : '_');
  }
  return name + "_" + std::string(suffix);
}

JetStreamClient::~JetStreamClient() { close(); }

void JetStreamClient::connect(const std::vector<std::string>& servers, const std::string& name,
                              std::chrono::milliseconds request_timeout, jsPubAckHandler on_ack,
                              void* ack_closure) {
  options_ = make_nats_options(servers, name);
  // With a callback, a connect that fails goes on in the background (without one
  // nats.c would retry inside natsConnection_Connect, forever).
  check_nats(natsOptions_SetRetryOnFailedConnect(
                 options_, true, [](natsConnection* /*connection*/, void* /*closure*/) {}, nullptr),
             "retry");
  const natsStatus status = natsConnection_Connect(&connection_, options_);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) check_nats(status, "connect");

  jsOptions options;
  check_nats(jsOptions_Init(&options), "JetStream options");
  options.Wait = request_timeout.count();
  options.PublishAsync.AckHandler = on_ack;
  options.PublishAsync.AckHandlerClosure = ack_closure;
  options.PublishAsync.MaxPending = 65536;
  check_nats(natsConnection_JetStream(&js_, connection_, &options), "JetStream context");
}

std::optional<JetStreamClient::StreamInfo> JetStreamClient::ensure_stream(const StreamSpec& spec) {
  const char* subject_list[] = {spec.subjects.c_str()};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = stream_.c_str();
  config.Subjects = subject_list;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Replicas = spec.replicas;
  config.Discard = js_DiscardOld;
  config.MaxMsgsPerSubject = spec.max_messages_per_subject;
  config.MaxAge = spec.max_age.count();
  config.Duplicates = spec.duplicate_window.count();

  jsStreamInfo* info = nullptr;
  jsErrCode error = static_cast<jsErrCode>(0);
  natsStatus status = js_AddStream(&info, js_, &config, nullptr, &error);
  if (status != NATS_OK && error == JSStreamNameExistErr) {
    // Made by another node or an earlier run with other settings: take these.
    status = js_UpdateStream(&info, js_, &config, nullptr, &error);
    if (status != NATS_OK) {
      log_.warn(
          "JetStream: stream {} exists with other settings that cannot be changed ({}): using it as it is",
          stream_, nats_GetLastError(nullptr));
      status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &error);
    }
  }
  if (status == NATS_OK) {
    // The creation time (the epoch) from the stream itself, not from the answer to the
    // create: when nodes create the stream at the same moment, one of them can be
    // answered with a creation time the stream does not keep (seen in about one start
    // in four on nats-server 2.9.10), and its clients' positions then look like
    // another epoch's everywhere else.
    jsStreamInfo_Destroy(info);
    info = nullptr;
    status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &error);
  }
  if (status != NATS_OK) {
    log_.warn("JetStream not available yet for the {} ({}, error {}): retrying", purpose_,
              natsStatus_GetText(status), static_cast<int>(error));
    return std::nullopt;
  }
  StreamInfo out{{info->State.FirstSeq, info->State.LastSeq, info->State.Msgs}, info->Created};
  jsStreamInfo_Destroy(info);
  return out;
}

std::optional<JetStreamClient::StreamState> JetStreamClient::stream_state(std::chrono::milliseconds wait) {
  jsStreamInfo* info = nullptr;
  jsErrCode error = static_cast<jsErrCode>(0);
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait.count();
  if (js_GetStreamInfo(&info, js_, stream_.c_str(), &options, &error) != NATS_OK) return std::nullopt;
  StreamState state{info->State.FirstSeq, info->State.LastSeq, info->State.Msgs};
  jsStreamInfo_Destroy(info);
  return state;
}

JetStreamClient::Lookup JetStreamClient::next_message(const std::string& subject, std::uint64_t from,
                                                      std::chrono::milliseconds wait, StoredMessage& out) {
  return get_message(R"({"seq":)" + std::to_string(from) + R"(,"next_by_subj":)" + json_quote(subject) + "}",
                     from, wait, out);
}

JetStreamClient::Lookup JetStreamClient::last_message(const std::string& subject,
                                                      std::chrono::milliseconds wait, StoredMessage& out) {
  return get_message(R"({"last_by_subj":)" + json_quote(subject) + "}", 0, wait, out);
}

namespace {

std::string random_epoch() {
  std::random_device random;
  const auto value = (static_cast<std::uint64_t>(random()) << 32U) ^ random();
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
  return text.data();
}

bool is_epoch(std::string_view text) {
  return text.size() == 16 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::optional<std::string> JetStreamClient::settle_epoch(const std::string& marker_subject,
                                                         std::chrono::milliseconds wait) {
  StoredMessage marker;
  for (int attempt = 0; attempt < 2; ++attempt) {
    switch (next_message(marker_subject, 1, wait, marker)) {
      case Lookup::failed: return std::nullopt;
      case Lookup::found:
        if (is_epoch(marker.data)) return marker.data;
        log_.error("JetStream: {} holds no epoch (sequence {}): delete that message", marker_subject,
                   marker.sequence);
        return std::nullopt;
      case Lookup::none:
        if (attempt == 0 && !renew_epoch(marker_subject, random_epoch(), wait)) return std::nullopt;
        break;
    }
  }
  return std::nullopt;
}

bool JetStreamClient::renew_epoch(const std::string& marker_subject, const std::string& epoch,
                                  std::chrono::milliseconds wait) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = wait.count();
  jsPubAck* ack = nullptr;
  jsErrCode error = static_cast<jsErrCode>(0);
  const natsStatus status = js_Publish(&ack, js_, marker_subject.c_str(), epoch.data(),
                                       static_cast<int>(epoch.size()), &options, &error);
  jsPubAck_Destroy(ack);
  return status == NATS_OK;
}

std::int64_t JetStreamClient::max_payload() const {
  return connection_ == nullptr ? 0 : natsConnection_GetMaxPayload(connection_);
}

JetStreamClient::Lookup JetStreamClient::get_message(const std::string& request, std::uint64_t from,
                                                     std::chrono::milliseconds wait, StoredMessage& out) {
  // STREAM.MSG.GET: the stream leader answers (not a replica that may lag behind).
  const auto api = "$JS.API.STREAM.MSG.GET." + stream_;
  natsMsg* reply = nullptr;
  const natsStatus status = natsConnection_Request(&reply, connection_, api.c_str(), request.data(),
                                                   static_cast<int>(request.size()), wait.count());
  if (status != NATS_OK) return Lookup::failed;
  const std::string_view body(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  boost::system::error_code ec;
  const auto value = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
  natsMsg_Destroy(reply);
  if (ec || !value.is_object()) return Lookup::failed;
  const auto& object = value.as_object();
  if (const auto* error = object.if_contains("error")) {
    const auto* code = error->is_object() ? error->as_object().if_contains("code") : nullptr;
    return code != nullptr && code->is_int64() && code->as_int64() == 404 ? Lookup::none : Lookup::failed;
  }
  const auto* message = object.if_contains("message");
  if (message == nullptr || !message->is_object()) return Lookup::failed;
  const auto* seq = message->as_object().if_contains("seq");
  const auto* data = message->as_object().if_contains("data");
  const auto* subject_value = message->as_object().if_contains("subject");
  if (seq == nullptr || !seq->is_number() || subject_value == nullptr || !subject_value->is_string()) {
    return Lookup::failed;
  }
  boost::system::error_code number_ec;
  out.sequence = seq->to_number<std::uint64_t>(number_ec);
  if (number_ec || out.sequence < from) return Lookup::failed;
  out.subject = subject_value->as_string();
  out.data.clear();
  if (data != nullptr && data->is_string()) {
    auto decoded = base64_decode(data->as_string());
    if (!decoded) return Lookup::failed;
    out.data = std::move(*decoded);
  }
  return Lookup::found;
}

natsSubscription* JetStreamClient::subscribe_ordered(const std::string& subjects,
                                                     std::uint64_t first_sequence, natsMsgHandler handler,
                                                     void* closure, int pending_messages, int pending_bytes) {
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream_.c_str();
  options.Ordered = true;
  options.Config.DeliverPolicy = js_DeliverByStartSequence;
  options.Config.OptStartSeq = first_sequence;
  natsSubscription* consumer = nullptr;
  jsErrCode error = static_cast<jsErrCode>(0);
  const natsStatus status =
      js_Subscribe(&consumer, js_, subjects.c_str(), handler, closure, nullptr, &options, &error);
  if (status != NATS_OK) {
    log_.warn("JetStream consumer for the {} failed ({}, error {}): retrying", purpose_,
              natsStatus_GetText(status), static_cast<int>(error));
    return nullptr;
  }
  natsSubscription_SetPendingLimits(consumer, pending_messages, pending_bytes);
  return consumer;
}

natsStatus JetStreamClient::publish(natsMsg** message, jsPubOptions options) {
  return js_PublishMsgAsync(js_, message, &options);
}

void JetStreamClient::finish_publishes(std::chrono::milliseconds wait) {
  if (js_ == nullptr) return;
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = wait.count();
  js_PublishAsyncComplete(js_, &options);
}

void JetStreamClient::close() {
  if (connection_ != nullptr) natsConnection_Close(connection_);
  if (js_ != nullptr) jsCtx_Destroy(js_);
  js_ = nullptr;
  if (connection_ != nullptr) natsConnection_Destroy(connection_);
  connection_ = nullptr;
  if (options_ != nullptr) natsOptions_Destroy(options_);
  options_ = nullptr;
}

}  // namespace natsync
