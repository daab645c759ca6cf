// apply_change against the RFCs' own examples (RFC 7396 Appendix A, RFC 6902 Appendix
// A), and its limits: nesting depth, size, a failing operation that leaves the document
// as it was.
#include "documents/document_patch.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

using namespace natsync;
using nlohmann::json;

namespace {

std::variant<PatchedDocument, PatchError> apply(const std::string& document, DocumentChange::Form form,
                                                const std::string& body, std::size_t max_bytes = 1 << 20) {
  return apply_change(json::parse(document), DocumentChange{form, body, std::nullopt}, max_bytes);
}

json result_of(const std::variant<PatchedDocument, PatchError>& outcome) {
  if (const auto* error = std::get_if<PatchError>(&outcome)) {
    ADD_FAILURE() << "refused: " << error->message;
    return nullptr;
  }
  return std::get<PatchedDocument>(outcome).document;
}

struct Example {
  const char* original;
  const char* patch;
  const char* result;  // nullptr: an error
};

}  // namespace

TEST(DocumentPatch, EveryExampleOfRfc7396AppendixA) {
  const Example examples[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& example : examples) {
    SCOPED_TRACE(std::string(example.original) + " + " + example.patch);
    EXPECT_EQ(result_of(apply(example.original, DocumentChange::Form::merge, example.patch)),
              json::parse(example.result));
  }
}

TEST(DocumentPatch, EveryExampleOfRfc6902AppendixA) {
  const Example examples[] = {
      // A.1 - A.7
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"baz":"qux","foo":"bar"})"},
      {R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
       R"({"foo":["bar","qux","baz"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})"},
      {R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
       R"({"baz":"boo","foo":"bar"})"},
      {R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {R"({"foo":["all","grass","cows","eat"]})", R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
       R"({"foo":["all","cows","eat","grass"]})"},
      // A.8, A.9: test
      {R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])", nullptr},
      // A.10 - A.12
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})"},
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])",
       R"({"foo":"bar","baz":"qux"})"},
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])", nullptr},
      // A.13: two "op" members; whichever a parser keeps, the patch must fail here
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","op":"remove"}])", nullptr},
      // A.14 - A.16
      {R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])", R"({"/":9,"~1":10})"},
      {R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])", nullptr},
      {R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
       R"({"foo":["bar",["abc","def"]]})"},
  };
  for (const auto& example : examples) {
    SCOPED_TRACE(std::string(example.original) + " + " + example.patch);
    auto outcome = apply(example.original, DocumentChange::Form::ops, example.patch);
    if (example.result == nullptr) {
      ASSERT_TRUE(std::holds_alternative<PatchError>(outcome));
    } else {
      EXPECT_EQ(result_of(outcome), json::parse(example.result));
    }
  }
}

TEST(DocumentPatch, AFailingOperationNamesItsIndexAndChangesNothing) {
  const json before = json::parse(R"({"n":1})");
  auto outcome = apply_change(
      before,
      {DocumentChange::Form::ops,
       R"([{"op":"replace","path":"/n","value":2},{"op":"test","path":"/n","value":1}])", std::nullopt},
      1024);
  auto* error = std::get_if<PatchError>(&outcome);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, ErrorCode::patch_failed);
  EXPECT_EQ(error->index, 1U);
  EXPECT_EQ(before, json::parse(R"({"n":1})"));
}

// Where nlohmann's patch() is more lenient than RFC 6902 (or asserts), apply_change is
// not: each of these fails with patch_failed and names its operation.
TEST(DocumentPatch, TargetsTheRfcForbidsFailEvenWhereTheLibraryWouldNot) {
  const std::pair<const char*, const char*> cases[] = {
      {"null", R"([{"op":"remove","path":"/q"}])"},
      {R"({"a":5})", R"([{"op":"remove","path":"/a/b"}])"},
      {R"({"a":"text"})", R"([{"op":"remove","path":"/a/0"}])"},
      {R"({"a":1})", R"([{"op":"remove","path":""}])"},
      {R"({"a":5})", R"([{"op":"add","path":"/a/b","value":1}])"},
      {R"({"a":true})", R"([{"op":"add","path":"/a/-","value":1}])"},
      {R"({"a":5,"c":1})", R"([{"op":"move","from":"/c","path":"/a/b"}])"},
      {R"({"a":5,"c":1})", R"([{"op":"copy","from":"/c","path":"/a/b"}])"},
      {R"({"a":{}})", R"([{"op":"add","path":"/a/b","value":1},{"op":"remove","path":"/a/b/c"}])"},
  };
  for (const auto& [document, ops] : cases) {
    SCOPED_TRACE(std::string(document) + " + " + ops);
    auto outcome = apply(document, DocumentChange::Form::ops, ops);
    auto* error = std::get_if<PatchError>(&outcome);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code, ErrorCode::patch_failed) << error->message;
  }
  auto last = apply(R"({"a":{}})", DocumentChange::Form::ops,
                    R"([{"op":"add","path":"/a/b","value":1},{"op":"remove","path":"/a/b/c"}])");
  EXPECT_EQ(std::get<PatchError>(last).index, 1U);
  EXPECT_EQ(result_of(apply(R"({"a":[1]})", DocumentChange::Form::ops, R"([{"op":"remove","path":"/a/0"}])")),
            json::parse(R"({"a":[]})"));
}

TEST(DocumentPatch, MalformedOperationsAreInvalidMessagesWithTheirIndex) {
  for (const char* ops :
       {R"([1])", R"([{"path":"/a"}])", R"([{"op":"add"}])", R"([{"op":"add","path":"/a"}])",
        R"([{"op":"move","path":"/a"}])", R"([{"op":"fly","path":"/a"}])", R"([{"op":7,"path":"/a"}])",
        R"([{"op":"add","path":7,"value":1}])"}) {
    SCOPED_TRACE(ops);
    auto outcome = apply(R"({"a":0})", DocumentChange::Form::ops, ops);
    auto* error = std::get_if<PatchError>(&outcome);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code, ErrorCode::invalid_message);
    EXPECT_EQ(error->index, 0U);
  }
  auto not_array = apply("{}", DocumentChange::Form::ops, R"({"op":"add"})");
  ASSERT_TRUE(std::holds_alternative<PatchError>(not_array));
  EXPECT_EQ(std::get<PatchError>(not_array).code, ErrorCode::invalid_message);
}

TEST(DocumentPatch, ReplaceTakesTheValueWhole) {
  EXPECT_EQ(result_of(apply(R"({"a":1})", DocumentChange::Form::replace, R"([1,{"b":null}])")),
            json::parse(R"([1,{"b":null}])"));
  EXPECT_EQ(result_of(apply(R"({"a":1})", DocumentChange::Form::replace, "null")), json(nullptr));
}

TEST(DocumentPatch, NestingAndSizeAreBounded) {
  const std::string deep = std::string(kMaxDocumentDepth + 1, '[') + std::string(kMaxDocumentDepth + 1, ']');
  auto too_deep = apply("{}", DocumentChange::Form::replace, deep);
  ASSERT_TRUE(std::holds_alternative<PatchError>(too_deep));
  EXPECT_EQ(std::get<PatchError>(too_deep).code, ErrorCode::invalid_message);
  const std::string fits = std::string(kMaxDocumentDepth, '[') + std::string(kMaxDocumentDepth, ']');
  EXPECT_TRUE(std::holds_alternative<PatchedDocument>(apply("{}", DocumentChange::Form::replace, fits)));
  // A shallow change that lands deep in the document makes it too deep.
  const std::string half = std::string(60, '[') + std::string(60, ']');
  auto deep_doc = result_of(apply("{}", DocumentChange::Form::replace, R"({"a":)" + half + "}"));
  auto deeper =
      apply_change(deep_doc, {DocumentChange::Form::merge, R"({"b":)" + half + "}", std::nullopt}, 1 << 20);
  EXPECT_TRUE(std::holds_alternative<PatchedDocument>(deeper));
  std::string pointer = "/a";
  for (int i = 0; i < 59; ++i) pointer += "/0";
  auto nested =
      apply_change(deep_doc,
                   {DocumentChange::Form::ops,
                    R"([{"op":"add","path":")" + pointer + R"(/0","value":)" + half + "}]", std::nullopt},
                   1 << 20);
  ASSERT_TRUE(std::holds_alternative<PatchError>(nested));
  EXPECT_EQ(std::get<PatchError>(nested).code, ErrorCode::document_too_large);

  auto big = apply("{}", DocumentChange::Form::merge, R"({"a":")" + std::string(100, 'x') + R"("})", 64);
  ASSERT_TRUE(std::holds_alternative<PatchError>(big));
  EXPECT_EQ(std::get<PatchError>(big).code, ErrorCode::document_too_large);
  EXPECT_EQ(nesting_depth(json::parse("1")), 0U);
  EXPECT_EQ(nesting_depth(json::parse(R"([[],{"a":[{}]}])")), 4U);
}
