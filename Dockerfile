# syntax=docker/dockerfile:1
# Build: a static binary, the same flags as `make build` (checked by a test).
FROM golang:1.27-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/ghevents/ghevents/internal/cli.Version=${VERSION}" -o /out/ghevents ./cmd/ghevents

# Run: distroless, non-root; the migrations and web assets are embedded.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ghevents /usr/local/bin/ghevents
ENV HTTP_ADDR=:8000 LOG_FORMAT=json
EXPOSE 8000
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ghevents", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ghevents"]
CMD ["serve"]
