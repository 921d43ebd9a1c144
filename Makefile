# Makefile - the two commands of the README, and a few conveniences.
#
#   make demo    set up, build, start the appliance with demo data, print how to log in
#   make test    set up, build (normal + sanitizer), run every test
#   make build   build/bin/{apid,vr-agent,vrcli}
#   make bench   the benchmarks under bench/
.PHONY: all build build-asan setup demo demo-down test unit integration lint bench clean format

all: build

setup:
	scripts/setup

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j2

build-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVR_SANITIZE=ON >/dev/null
	cmake --build build-asan -j2

demo: setup build
	scripts/demo up

demo-down:
	scripts/demo down

test: setup build build-asan
	scripts/run-tests

unit: build-asan
	cd build-asan && ctest --output-on-failure

integration: build-asan
	VR_BIN_DIR=$(CURDIR)/build-asan/bin scripts/netns-run /usr/bin/python3 -m pytest -q tests/integration

bench: setup build
	bench/api.sh

format:
	clang-format -i common/*.[ch] apid/*.[ch] agent/*.[ch] vrcli/*.[ch] tests/unit/*.c

clean:
	rm -rf build build-asan
