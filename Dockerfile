# syntax=docker/dockerfile:1
#
# The `agusto` binary in a small runtime image. One image serves every role:
#   docker run agusto:local serve | ingest | worker <stock|orders|webhooks|all> | config
# docker-compose.yml builds it as `agusto:local` (README: "Running the production stack").

# --- build --------------------------------------------------------------------
FROM rust:1.95-bookworm AS build

# rdkafka-sys builds the bundled librdkafka with its own ./configure + make
# (a C toolchain, GNU make, bash); libz-sys links the system zlib when its
# headers are there (pkg-config finds them); rusqlite compiles the bundled
# SQLite and aws-lc-sys its C sources with the C toolchain (cmake is its
# fallback builder on targets without pregenerated bindings). The rust image
# already has most of this; installing it explicitly keeps the build honest.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake make perl pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Cache mounts keep the registry and target dir between builds; the binary is
# copied out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin agusto \
 && install -D -m 0755 target/release/agusto /out/agusto

# --- runtime ------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates: webhooks go out over HTTPS (rustls, system roots).
# zlib1g: librdkafka's compression (part of the base system; listed for clarity).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 agusto \
 && useradd --system --uid 10001 --gid agusto --home-dir /var/lib/agusto \
      --shell /usr/sbin/nologin agusto \
 && install -d -o agusto -g agusto -m 0750 /var/lib/agusto

COPY --from=build /out/agusto /usr/local/bin/agusto
COPY --chmod=0755 config/agusto-probe.sh /usr/local/bin/agusto-probe

USER agusto:agusto
WORKDIR /var/lib/agusto

# Inside a container the process must listen on all interfaces; the data dir
# only matters for `agusto serve` and `AGUSTO_STORE=sqlite:` setups.
ENV AGUSTO_LISTEN=0.0.0.0:8080 \
    AGUSTO_DATA_DIR=/var/lib/agusto \
    AGUSTO_LOG_FORMAT=json

# `agusto serve` keeps its SQLite file in /var/lib/agusto: mount a volume there.
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["agusto-probe", "/healthz"]

ENTRYPOINT ["agusto"]
CMD ["serve"]
