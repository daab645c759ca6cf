// The record a cluster stores per change (documents/document_record.hpp): what is
// encoded decodes to the same, and anything else on the stream's subjects is refused.
#include "documents/document_record.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace natsync;

TEST(DocumentRecord, EncodesAndDecodesEveryForm) {
  for (const auto form :
       {DocumentChange::Form::merge, DocumentChange::Form::ops, DocumentChange::Form::replace}) {
    const DocumentRecord record{42, 9001, form, R"({"a":1})", R"({"a":1,"b":[2]})"};
    const auto bytes = encode_document_record(record);
    const auto decoded = decode_document_record(bytes);
    ASSERT_TRUE(decoded.has_value()) << bytes;
    EXPECT_EQ(decoded->revision, 42U);
    EXPECT_EQ(decoded->previous_sequence, 9001U);
    EXPECT_EQ(decoded->form, form);
    EXPECT_EQ(decoded->change, R"({"a":1})");
    EXPECT_EQ(decoded->document, R"({"a":1,"b":[2]})");
  }
  const auto first =
      decode_document_record(encode_document_record({1, 0, DocumentChange::Form::merge, "1", "null"}));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->previous_sequence, 0U);
  EXPECT_EQ(first->document, "null");
}

TEST(DocumentRecord, AnythingElseIsRefused) {
  for (const std::string& bytes : {std::string(),
                                   std::string("{\"a\":1}"),
                                   std::string("NSD1"),
                                   std::string("NSD1 "),
                                   std::string("NSD2 1 0 m 1\n1null"),
                                   std::string("NSD1 0 0 m 1\n1null"),  // revision 0
                                   std::string("NSD1 -1 0 m 1\n1null"),
                                   std::string("NSD1 +1 0 m 1\n1null"),
                                   std::string("NSD1 x 0 m 1\n1null"),
                                   std::string("NSD1 1 0 x 1\n1null"),
                                   std::string("NSD1 1 0 m 0\n1null"),  // an empty change
                                   std::string("NSD1 1 0 m 5\n1null"),  // no document after the change
                                   std::string("NSD1 1 0 m 99\n1null"),
                                   std::string("NSD1 1 0 m 1 1null"),
                                   std::string("NSD1 1 0 mm 1\n1null"),
                                   std::string("NSD1 1  0 m 1\n1null"),
                                   std::string("NSD1 99999999999999999999 0 m 1\n1null"),  // past 2^64
                                   std::string("NSD1 1 0 m 18446744073709551615\n1null"),
                                   std::string("NSD1 1 0 m"),
                                   std::string("NSD1 1 0 m 1\n")}) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(decode_document_record(bytes).has_value());
  }
  // Framed right, whatever the bytes: the JSON of both is the caller's to check.
  EXPECT_TRUE(decode_document_record(std::string("NSD1 1 0 m 1\n\0\0", 15)).has_value());
}
