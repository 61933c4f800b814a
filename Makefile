# The README's two commands. Each installs missing Debian packages itself
# (scripts/install-deps.sh: a dpkg query when all is present), configures CMake
# into build/, builds, and runs.

BUILD ?= build
JOBS ?= $(shell nproc)
DURATION ?= 0
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
# Profile-guided and link-time optimisation (scripts/pgo-train.sh): the first
# build trains an instrumented engine on generated traffic, about 2.5 minutes
# more on 2 cores; later builds reuse the profile. PGO=0 builds without either;
# delete $(BUILD)/pgo to train again after large changes.
PGO ?= 1
PGO_DIR = $(BUILD)/pgo
ifeq ($(PGO),1)
PGO_FLAGS = -DSENTRAIL_PGO_USE=$(abspath $(PGO_DIR))/data -DSENTRAIL_LTO=ON
else
PGO_FLAGS = -DSENTRAIL_PGO_USE= -DSENTRAIL_LTO=OFF
endif

.PHONY: all deps test-deps configure build demo dashboards test clean help bench bench-replay

all: build

help:
	@echo "make demo   - stream synthetic retail traffic through the engine and watch alerts (DURATION=seconds)"
	@echo "make test   - install, build and run every test (unit, integration against the embedded broker)"
	@echo "make build  - configure and build into $(BUILD)/ (profile-guided; PGO=0 for a plain build)"
	@echo "make bench  - every benchmark in one run (docs/performance.md)"
	@echo "make dashboards - Prometheus on http://127.0.0.1:9090 scraping the demo engine's metrics (run make demo too)"

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --with-test-tools

configure: deps
ifeq ($(PGO),1)
	@test -f $(PGO_DIR)/data/trained || JOBS=$(JOBS) scripts/pgo-train.sh $(PGO_DIR)
endif
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) $(PGO_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@DURATION=$(DURATION) scripts/demo.sh $(BUILD)/sentrail

dashboards: test-deps
	@scripts/dashboards.sh

test: test-deps configure
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600

clean:
	rm -rf $(BUILD)

bench: build
	@BUILD=$(BUILD) scripts/bench.sh

bench-replay: build
	@BUILD=$(BUILD) scripts/bench-replay.sh
