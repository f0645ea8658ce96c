# syntax=docker/dockerfile:1
# The eksguard container image: one static binary at /eksguard on distroless/static,
# run as the non-root user 65532. The Helm chart (deploy/helm/eksguard) uses it.
#
#   docker build -t ghcr.io/eksguard/eksguard:0.1.0 .
#
# The build stage is Alpine, whose Rust targets musl natively: the binary links
# statically without adding a target to the toolchain, on amd64 and arm64 alike
# (`docker buildx build --platform linux/amd64,linux/arm64 ...`).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
# A C compiler and musl's headers for ring (the TLS crypto of the AWS and Kubernetes
# clients).
RUN apk add --no-cache gcc musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin eksguard \
    && cp target/release/eksguard /eksguard

# distroless/static: CA certificates, /etc/passwd with `nonroot` (65532), no shell, no
# libc; a dynamically linked binary would not start here.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /eksguard /eksguard
USER 65532:65532
# Exec form (there is no shell): fails the build unless the binary runs on its own.
RUN ["/eksguard", "--version"]
ENTRYPOINT ["/eksguard"]
