# syntax=docker/dockerfile:1
# Rosetta image: the server binary and the built console on a slim Debian with libxmlsec1.
#   docker build -t rosetta .
#   docker run --read-only --tmpfs /tmp -v rosetta-data:/var/lib/rosetta -p 8080:8080 rosetta
# Runs as UID 10001 with a read-only root filesystem: only /var/lib/rosetta (the data
# directory; a volume or, in Kubernetes, an emptyDir) and /tmp need to be writable.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: server binary and console ---------------------------------------------------
FROM ${RUST_IMAGE} AS build
# Versions come from the pinned base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libclang-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Every workspace member is needed for cargo to resolve the workspace.
COPY Cargo.toml Cargo.lock ./
COPY api/ api/
COPY console/ console/
COPY e2e/ e2e/
COPY entity/ entity/
COPY fuzz/harness/ fuzz/harness/
COPY migration/ migration/
COPY server/ server/
COPY scripts/build-console.sh scripts/setup.sh scripts/
ENV CARGO_TARGET_DIR=/src/target
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p rosetta-server --bin rosetta \
 && install -D -m 0755 target/release/rosetta /out/rosetta
# Installs the wasm32 target and wasm-bindgen-cli at the Cargo.lock version, writes console/dist.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/build-console.sh \
 && test -f console/dist/index.html

# ---- runtime ---------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libxml2 libxmlsec1 libxmlsec1-openssl libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 rosetta \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rosetta --no-create-home \
      --shell /usr/sbin/nologin rosetta \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/rosetta
COPY --from=build /out/rosetta /usr/local/bin/rosetta
COPY --from=build /src/console/dist/ /usr/share/rosetta/console/
ENV ROSETTA_LISTEN=0.0.0.0:8080 \
    ROSETTA_DATA_DIR=/var/lib/rosetta \
    ROSETTA_CONSOLE_DIR=/usr/share/rosetta/console \
    ROSETTA_LOG_FORMAT=json
WORKDIR /var/lib/rosetta
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/rosetta"]
ENTRYPOINT ["/usr/local/bin/rosetta"]
CMD ["serve"]
