# Two commands matter: `make run` (build the console, serve on the embedded defaults)
# and `make test` (every test; PostgreSQL/Redis variants when TEST_DATABASE_URL and
# TEST_REDIS_URL are set).
.PHONY: run console test lint fmt

run: console
	cargo run -p rosetta-server --bin rosetta -- serve

console:
	scripts/build-console.sh

test:
	scripts/test.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p rosetta-console --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all
