# syntax=docker/dockerfile:1
#
# One image, two binaries: /usr/local/bin/xieshang (the platform: serve, migrate, the CLI) and
# /usr/local/bin/xieshang-operator (the Committee operator). Used by the Helm chart in
# helm/xieshang for every service, the migrations Job and the operator.
#
#   docker build -t ghcr.io/xieshang/xieshang:0.1.0 .
#   docker run --rm -p 50051:50051 -v xieshang-data:/var/lib/xieshang ghcr.io/xieshang/xieshang:0.1.0
#
# The protobuf contracts are compiled by protox (pure Rust): no protoc is needed.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p xieshang -p xieshang-operator \
 && install -D -m 0755 target/release/xieshang /out/usr/local/bin/xieshang \
 && install -D -m 0755 target/release/xieshang-operator /out/usr/local/bin/xieshang-operator \
 && install -d -m 0750 /out/var/lib/xieshang

# ---- runtime ----------------------------------------------------------------------------------
# glibc and libgcc, CA certificates, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="xieshang" \
      org.opencontainers.image.description="Xieshang: the multi-tenant platform for CPPCC committees" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# The data directory (embedded profile: the SQLite file and generated keys; mount a volume).
COPY --from=build --chown=10001:10001 /out/var/lib/xieshang /var/lib/xieshang
# A numeric non-root user, so that Kubernetes can verify runAsNonRoot.
USER 10001:10001
ENV XIESHANG__LISTEN=0.0.0.0:50051 \
    XIESHANG__DATA_DIR=/var/lib/xieshang \
    XIESHANG__LOG__FORMAT=json
# gRPC (with grpc.health.v1, reflection, gRPC-Web), Prometheus metrics when enabled.
EXPOSE 50051 9464
VOLUME ["/var/lib/xieshang"]
ENTRYPOINT ["xieshang"]
CMD ["serve"]
