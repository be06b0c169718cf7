# Two commands matter: `make run` (build the console, serve on the embedded defaults)
# and `make test` (every test; PostgreSQL/Redis variants when TEST_DATABASE_URL and
# TEST_REDIS_URL are set).
.PHONY: run console test setup lint fmt bench

run:
	scripts/run.sh

console:
	scripts/build-console.sh

test:
	scripts/test.sh

# What `make test` installs by itself when missing (Debian packages, Python and Node.js peers,
# the console's tools); see scripts/setup.sh.
setup:
	scripts/setup.sh test

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p rosetta-console --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

# The load driver against a release build (see BENCHMARKS.md); LOGINS and CONCURRENCY
# override the defaults, STACK=embedded|external|both. Then the latency bar: 200 logins/s
# for 20 s through the in-process fast peers. Then the criterion micro-benchmarks.
LOGINS ?= 2000
CONCURRENCY ?= 8
STACK ?= both
RATE ?= 200
bench:
	cargo build --release -p rosetta-server --bin rosetta
	cargo build --release -p rosetta-e2e --bin rosetta-bench
	ROSETTA_BIN=$${CARGO_TARGET_DIR:-target}/release/rosetta $${CARGO_TARGET_DIR:-target}/release/rosetta-bench \
		--logins $(LOGINS) --concurrency $(CONCURRENCY) --stack $(STACK) --json bench.json
	ROSETTA_BIN=$${CARGO_TARGET_DIR:-target}/release/rosetta $${CARGO_TARGET_DIR:-target}/release/rosetta-bench \
		--peers fast --rate $(RATE) --duration-secs 20 --concurrency 64 --stack $(STACK) --json bench-fast.json
	cargo bench -p rosetta-server --bench hot_path
