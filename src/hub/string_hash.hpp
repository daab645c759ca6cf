#pragma once
// Hashing and comparing std::string keys by std::string_view (C++20 heterogeneous
// lookup), so that looking a topic up never builds a string: for boost's flat maps of
// the hub's indexes, the pattern trie and the presence table.
#include <boost/container_hash/hash.hpp>
#include <cstddef>
#include <string_view>

namespace natsync {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return boost::hash_range(s.begin(), s.end()); }
};

struct StringEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

}  // namespace natsync
