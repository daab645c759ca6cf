#pragma once
// The version natsync reports (--version, natsync_build_info): CMake's project version.
#include <string_view>

#ifndef NATSYNC_VERSION
#define NATSYNC_VERSION "0.0.0-unknown"
#endif

namespace natsync {
inline constexpr std::string_view kVersion = NATSYNC_VERSION;
}  // namespace natsync
