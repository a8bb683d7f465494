# syntax=docker/dockerfile:1
# Ocean's shared runtime image: distroless static — CA certificates (rustls also reads the system
# store, for private CAs), /etc/passwd with an unprivileged user, tzdata, and no shell or libc.
# `make image` builds it as ocean-runtime:local. An integration image adds its static binary and
# its .port/ folder to /app, the working directory where the runtime looks for them.
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
FROM ${BASE_IMAGE}
WORKDIR /app
USER 65532:65532
# The integration's HTTP server (APPLICATION__PORT).
EXPOSE 8000
