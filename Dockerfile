# Build stage: compile the release binary (migrations, the scoring model and Swagger UI are
# compiled into it, so the runtime image needs nothing else).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin msc-readiness

# Runtime stage: a small Debian with only the binary, run as an unprivileged user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home msc
COPY --from=build /src/target/release/msc-readiness /usr/local/bin/msc-readiness
USER 10001
ENV HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/msc-readiness"]
