# The two commands of the README, and a few more for developers.
#   make demo   installs what is missing, builds, runs sensordbd and streams a fleet through it
#   make test   installs what is missing, builds, runs every test
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENSORDB_WERROR=ON

.PHONY: all deps configure build demo test test-sanitize bench install clean

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

bench: build
	./$(BUILD)/bench/sensordb-bench engine --devices 1000 --channels 10 --points 10000000 --durability async
	./$(BUILD)/bench/sensordb-bench engine --devices 1000 --channels 10 --points 10000000 --durability sync
	./bench/server_ingest.sh $(BUILD) 3 --points 10000000 --connections 4

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
