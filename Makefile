# SPDX-License-Identifier: AGPL-3.0-or-later
# The commands of the README. The build itself is Meson's; this file only names the steps.
BUILD    ?= build
SAN      ?= build-san
FUZZ     ?= build-fuzz
DATA     ?= ./var
LISTEN   ?= 127.0.0.1:8080
# Seconds each fuzz target runs in `make fuzz`.
FUZZ_SECONDS ?= 60

.PHONY: all build run test fuzz bench-list bench-transfer bench-s3 bench-portal docs clean

all: build

build:
	@scripts/deps.sh run
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) --quiet

run: build
	./$(BUILD)/consign serve --data $(DATA) --listen $(LISTEN)

# Every test layer, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test:
	@scripts/deps.sh test
	@[ -f $(SAN)/build.ninja ] || meson setup $(SAN) --buildtype=debug \
	    -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all >/dev/null
	@ninja -C $(SAN) --quiet
	@tests/run.sh $(SAN)

fuzz:
	@scripts/deps.sh fuzz
	@[ -f $(FUZZ)/build.ninja ] || CC=clang meson setup $(FUZZ) --buildtype=debugoptimized \
	    -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(FUZZ) --quiet
	@fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

# Package-list latency at 10,000 and 1,000,000 packages against nginx; BENCH_SECONDS per query.
BENCH_SECONDS ?= 5
bench-list: build
	@scripts/deps.sh bench
	@bench/list.sh $(BUILD) $(BENCH_SECONDS)

# Upload, finalize, download and zip of one BENCH_TRANSFER_GIB file against dd and nginx.
BENCH_TRANSFER_GIB ?= 4
bench-transfer: build
	@scripts/deps.sh bench
	@bench/transfer.sh $(BUILD) $(BENCH_TRANSFER_GIB)

# The scale-out data path (PostgreSQL, radosgw, two servers): the zip streamed from the object
# store against a pre-signed GET of the same bytes. BENCH_S3_MIB: the file's size.
BENCH_S3_MIB ?= 512
bench-s3: build
	@scripts/deps.sh test
	@bench/s3.sh $(BUILD) $(BENCH_S3_MIB)

# A large file through the portal page in Chromium against dd and a program using the API.
BENCH_PORTAL_GIB ?= 1
bench-portal: build
	@scripts/deps.sh test
	@CONSIGN_BIN=$(BUILD)/consign node bench/portal.mjs $(BENCH_PORTAL_GIB)

docs: build
	./$(BUILD)/consign errors > docs/errors.md

clean:
	rm -rf $(BUILD) $(SAN) $(FUZZ)
