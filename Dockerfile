# syntax=docker/dockerfile:1

# Build a static binary; the module and build caches persist across builds.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/sisimport ./cmd/sisimport

# Distroless static: CA certificates and tzdata, no shell, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sisimport /sisimport
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/sisimport"]
CMD ["serve"]
