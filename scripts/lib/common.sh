# Shared by scripts/run and scripts/test: install what is missing, build quietly.
# Sourced, not executed. Everything here is idempotent and silent when there is
# nothing to do; on failure the captured log is printed.

NATSYNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian 12 packages the server needs to build and run (see docs/building.md).
BUILD_PACKAGES=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libnats-dev libcpp-jwt-dev nlohmann-json3-dev libssl-dev libsimdjson-dev
  libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev prometheus-cpp-dev)
# Extra packages for the tests: GoogleTest, Google Benchmark, nats-server, curl,
# gnuplot for bench/compare's chart (CI runs its smoke), python3 for the frozen
# subscribers of the slow-consumer test (it can shrink a socket's receive buffer),
# openssl to make the TLS tests' self-signed certificates, chromium for the browser tests of
# natsync-client, the demo and the admin page (driven by npm playwright-core: no browser
# download); prometheus for promtool (GET /metrics is checked with it), lintian and
# dpkg-dev for the Debian package, systemd for systemd-analyze verify of the unit.
TEST_PACKAGES=(libgtest-dev libgmock-dev libbenchmark-dev nats-server curl clang-format gnuplot-nox python3 openssl
  chromium prometheus lintian dpkg-dev systemd)

log() { printf '==> [%4ss] %s\n' "$SECONDS" "$*"; }

# Runs a command with its output captured; shows the output only if it fails.
quietly() {
  local out
  out="$(mktemp)"
  if ! "$@" >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    echo "failed: $*" >&2
    return 1
  fi
  rm -f "$out"
}

# Installs the Debian packages among "$@" that are not installed yet.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  ((EUID != 0)) && sudo=(sudo)
  log "installing ${missing[*]}"
  quietly "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive quietly "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

# Node.js (>= 18, for node:test and fetch) and npm for the end-to-end tests. The
# machines come with Node 20; a bare Debian 12 gets Debian's Node 18.
ensure_node() {
  local major=0
  command -v node >/dev/null && major="$(node -p 'process.versions.node.split(".")[0]')"
  if ((major < 18)) || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
}

# Configures and builds a CMake tree: build_tree DIR [cmake args...]. It configures
# again only when the arguments differ from last time (scripts/run and scripts/test
# share build/ with different options; switching only adds or drops test targets).
build_tree() {
  local dir="$NATSYNC_ROOT/$1"
  shift
  local stamp="$dir/.natsync-configure-args"
  if [[ ! -f "$dir/build.ninja" || "$(cat "$stamp" 2>/dev/null)" != "$*" ]]; then
    log "configuring ${dir#"$NATSYNC_ROOT"/}"
    quietly cmake -S "$NATSYNC_ROOT" -B "$dir" -G Ninja "$@"
    printf '%s' "$*" >"$stamp"
  fi
  if ! ninja -C "$dir" -n 2>/dev/null | grep -q 'no work to do'; then
    log "building ${dir#"$NATSYNC_ROOT"/}"
    quietly ninja -C "$dir"
  fi
}
