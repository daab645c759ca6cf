#include "tls/tls_context.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_certificate.hpp"

using namespace natsync;
using natsync::testing::TestCertificate;

namespace {

std::string failure(const std::string& cert, const std::string& key) {
  try {
    TlsContext context(cert, key);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(TlsContext, LoadsAMatchingCertificateAndKey) {
  TestCertificate cert;
  TlsContext context(cert.cert_file(), cert.key_file());
  ASSERT_NE(context.current(), nullptr);
  EXPECT_EQ(context.cert_file(), cert.cert_file());
}

TEST(TlsContext, EachBadFileIsNamedWithItsReason) {
  TestCertificate cert;
  TestCertificate other;
  const auto garbage = cert.path("garbage.pem");
  write_file(garbage, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
  const auto empty = cert.path("empty.pem");
  write_file(empty, "");

  EXPECT_NE(
      failure(cert.path("missing.pem"), cert.key_file()).find("TLS_CERT_FILE '" + cert.path("missing.pem")),
      std::string::npos);
  EXPECT_NE(failure(empty, cert.key_file()).find("cannot load a PEM certificate chain"), std::string::npos);
  EXPECT_NE(failure(garbage, cert.key_file()).find("TLS_CERT_FILE"), std::string::npos);
  EXPECT_NE(failure(cert.cert_file(), garbage).find("TLS_KEY_FILE"), std::string::npos);
  EXPECT_NE(failure(cert.cert_file(), cert.cert_file()).find("TLS_KEY_FILE"), std::string::npos)
      << "a certificate is not a key";
  const auto mismatch = failure(cert.cert_file(), other.key_file());
  EXPECT_NE(mismatch.find("TLS_KEY_FILE"), std::string::npos) << mismatch;
}

TEST(TlsContext, ReloadServesNewFilesAndKeepsTheOldContextWhenTheyAreBroken) {
  TestCertificate first;
  TestCertificate second;
  const auto cert_file = first.path("live-cert.pem");
  const auto key_file = first.path("live-key.pem");
  std::filesystem::copy_file(first.cert_file(), cert_file);
  std::filesystem::copy_file(first.key_file(), key_file);
  TlsContext context(cert_file, key_file);
  const auto before = context.current();

  std::filesystem::copy_file(second.cert_file(), cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(second.key_file(), key_file, std::filesystem::copy_options::overwrite_existing);
  context.reload();
  const auto after = context.current();
  EXPECT_NE(after, before);
  EXPECT_EQ(before.use_count(), 1) << "the old context lives on only while someone holds it";

  write_file(key_file, "broken");
  EXPECT_THROW(context.reload(), std::runtime_error);
  EXPECT_EQ(context.current(), after);
}
