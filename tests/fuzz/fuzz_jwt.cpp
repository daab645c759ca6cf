// libFuzzer target: tokens through JwtVerifier (HS256 secret and an ES256 public key,
// audience and issuer configured) and PEM text through public_key_algorithm.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt_verifier.hpp"

namespace {
// A P-256 public key made for this target; its private half was thrown away.
constexpr const char* kPublicKey = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElgOHUjPG/IZsbn1JvU6F/r5s1Z5d
qHDRRLRKSNHb+LoogvxhDqSYp1dMTv/62DoTHQiJg/FjfJFKTaqo4dxW2g==
-----END PUBLIC KEY-----
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const natsync::JwtVerifier verifier(natsync::JwtSettings{
      "fuzz-secret-0123456789abcdef", kPublicKey, std::chrono::seconds(5), "natsync", "issuer", "admin"});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  (void)verifier.verify(text, now);
  std::string error;
  (void)natsync::public_key_algorithm(text, error);
  return 0;
}
