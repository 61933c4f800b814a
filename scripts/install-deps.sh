#!/usr/bin/env bash
# Installs the Debian packages Sentrail builds and tests with, and only those
# that are missing, so a second run costs a dpkg query and nothing more.
set -euo pipefail

build_packages=(
  g++ cmake ninja-build pkg-config make
  librdkafka-dev libsimdjson-dev librocksdb-dev prometheus-cpp-dev libfmt-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev libbenchmark-dev libssl-dev
  libcli11-dev libre2-dev libcpp-httplib-dev libjemalloc-dev libxxhash-dev
  libabsl-dev
)
# Independent clients the integration tests use to talk to the embedded broker,
# Prometheus (with promtool) for the observability tests and `make dashboards`,
# Alertmanager as a real receiver for the alert sinks, and Chromium driven by
# Selenium for the web console's end-to-end test.
test_packages=(python3 python3-confluent-kafka prometheus prometheus-alertmanager
               chromium chromium-driver python3-selenium)

wanted=("${build_packages[@]}")
if [[ "${1:-}" == "--with-test-tools" ]]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
