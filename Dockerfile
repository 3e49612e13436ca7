# Multi-stage build of sessiond: a static binary on a small runtime image.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/sessiond ./cmd/edgeverify

FROM alpine:3.22
RUN adduser -D -H -u 10001 sessiond && mkdir /data && chown sessiond /data
COPY --from=build /out/sessiond /out/edgeverify /usr/local/bin/
USER sessiond
ENV SESSIOND_HTTP_ADDR=:8080 SESSIOND_DATA_DIR=/data
EXPOSE 8080
VOLUME /data
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD wget -qO- http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["sessiond"]
CMD ["serve"]
