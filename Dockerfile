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
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/chorus"]
