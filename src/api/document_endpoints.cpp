// GET /api/sync/document?topic=T and POST /api/sync/document (docs/documents.md): the
// same caller rules as POST /api/sync/publish.
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include "api/rest_api.hpp"
#include "protocol/server_message.hpp"
#include "protocol/topic.hpp"

namespace natsync {

namespace http = boost::beast::http;

namespace {

http::status status_of(const DocumentOutcome& outcome) {
  switch (outcome.status) {
    case DocumentOutcome::Status::ok: return http::status::ok;
    case DocumentOutcome::Status::revision_conflict: return http::status::conflict;
    case DocumentOutcome::Status::unavailable: return http::status::service_unavailable;
    case DocumentOutcome::Status::rejected: break;
  }
  switch (outcome.code) {
    case ErrorCode::patch_failed: return http::status::unprocessable_entity;
    case ErrorCode::document_too_large: return http::status::payload_too_large;
    default: return http::status::bad_request;
  }
}

std::string_view code_of(const DocumentOutcome& outcome) {
  switch (outcome.status) {
    case DocumentOutcome::Status::revision_conflict: return to_string(ErrorCode::revision_conflict);
    case DocumentOutcome::Status::unavailable: return to_string(ErrorCode::internal_error);
    default: return to_string(outcome.code);
  }
}

}  // namespace

void RestApi::get_document(const HttpRequest& request, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  auto url = boost::urls::parse_origin_form(request.target());
  std::string topic;
  if (url) {
    for (const auto& param : url->params())
      if (param.key == "topic") topic = param.value;
  }
  if (const char* why = topic_error(topic)) {
    return respond(make_error_response(http::status::bad_request, "invalid_topic",
                                       std::string("'topic': ") + why, version, keep_alive));
  }
  const bool read = node_.read_document(
      topic, [respond, topic, version, keep_alive](std::optional<DocumentSnapshot> snapshot) {
        if (!snapshot) {
          return respond(make_error_response(http::status::service_unavailable, "internal_error",
                                             "the document store could not be read", version, keep_alive));
        }
        std::string body = R"({"topic":)" + json_quote(topic) + R"(,"data":)" + snapshot->data_json +
                           R"(,"revision":)" + std::to_string(snapshot->revision) + R"(,"epoch":)" +
                           json_quote(snapshot->epoch) + "}";
        respond(json_response(http::status::ok, std::move(body), version, keep_alive));
      });
  if (!read) {
    respond(make_error_response(http::status::not_found, "not_document",
                                "this topic is not a document: it matches no DOCUMENT_TOPICS pattern",
                                version, keep_alive));
  }
}

void RestApi::change_document(const HttpRequest& request, MessageParser& parser, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  auto parsed = parser.parse_document_request(request.body());
  if (auto* err = std::get_if<ProtocolError>(&parsed)) {
    return respond(make_error_response(http::status::bad_request, to_string(err->code), err->message, version,
                                       keep_alive));
  }
  auto& body = std::get<DocumentRequest>(parsed);
  if (!node_.document(body.topic)) {
    return respond(make_error_response(http::status::not_found, "not_document",
                                       "this topic is not a document: it matches no DOCUMENT_TOPICS pattern",
                                       version, keep_alive));
  }
  node_.change_document(
      body.topic, std::move(body.change),
      [respond = std::move(respond), topic = body.topic, version,
       keep_alive](const DocumentOutcome& outcome) {
        if (outcome.status == DocumentOutcome::Status::ok) {
          return respond(json_response(http::status::ok,
                                       R"({"status":"ok","topic":)" + json_quote(topic) + R"(,"revision":)" +
                                           std::to_string(outcome.revision) + "}",
                                       version, keep_alive));
        }
        std::string out =
            R"({"error":)" + json_quote(outcome.message) + R"(,"code":)" + json_quote(code_of(outcome));
        if (outcome.status == DocumentOutcome::Status::revision_conflict)
          out.append(R"(,"revision":)").append(std::to_string(outcome.revision));
        if (outcome.index) out.append(R"(,"index":)").append(std::to_string(*outcome.index));
        auto response = json_response(status_of(outcome), out + "}", version, keep_alive);
        if (outcome.status == DocumentOutcome::Status::unavailable)
          response.set(http::field::retry_after, "1");
        respond(std::move(response));
      });
}

}  // namespace natsync
