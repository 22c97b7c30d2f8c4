# The two commands of the README, and a few more for developers.
#   make demo   installs what is missing, builds, runs sensordbd and streams a fleet through it
#   make test   installs what is missing, builds, runs every test
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENSORDB_WERROR=ON

.PHONY: all deps configure build demo test test-sanitize fuzz bench install clean

all: build

deps:
	./tools/bootstrap.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./tools/demo.sh $(BUILD)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DSENSORDB_WERROR=ON -DSENSORDB_BUILD_BENCH=OFF -DSENSORDB_SANITIZE=address,undefined"

# Every fuzz target (fuzz/README.md) for FUZZ_SECONDS each, under ASan and UBSan with libFuzzer;
# fails on the first crash, leak or sanitizer report. FUZZ_TARGETS picks some. -O1 -g1 with
# assertions on: half the compile time of -O2 -g under the sanitizers, line numbers in reports
# (GCC 12 at -O1 warns falsely of uninitialised members inside libstdc++'s <regex>).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DSENSORDB_WERROR=ON \
	  -DCMAKE_CXX_FLAGS_FUZZ="-O1 -g1 -Wno-maybe-uninitialized" -DCMAKE_C_FLAGS_FUZZ="-O1 -g1" \
	  -DSENSORDB_BUILD_TESTS=OFF -DSENSORDB_BUILD_BENCH=OFF -DSENSORDB_SANITIZE=address,undefined \
	  -DSENSORDB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	./tools/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	./$(BUILD)/bench/sensordb-bench engine --devices 1000 --channels 10 --points 10000000 --durability async
	./$(BUILD)/bench/sensordb-bench engine --devices 1000 --channels 10 --points 10000000 --durability sync
	./bench/server_ingest.sh $(BUILD) 3 --points 10000000 --connections 4

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)
