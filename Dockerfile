# Build a static binary, then ship it alone in a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/chorus ./cmd/chorus \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/chorus /usr/local/bin/chorus
# The embedded store lives on a volume; the directory belongs to the
# numeric user Chorus runs as, so runtimes can enforce non-root without a
# passwd entry.
COPY --from=build --chown=65532:65532 /out/data /var/lib/chorus
ENV CHORUS_STORE=sqlite:///var/lib/chorus/chorus.db
VOLUME /var/lib/chorus
# The operators' socket: docker exec CONTAINER chorus admin rooms
ENV CHORUS_ADMIN_SOCKET=/var/lib/chorus/admin.sock
# /metrics, /healthz and /readyz. Inside the container the listener must
# bind every interface so the orchestrator can reach it; publish the port
# with care, /metrics is not meant for the public.
ENV CHORUS_HTTP_ADDR=0.0.0.0:5380
EXPOSE 5380
USER 65532:65532
# There is no shell or curl in the image: the binary checks itself, on
# loopback when CHORUS_HTTP_ADDR binds every interface.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/chorus", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/chorus"]
