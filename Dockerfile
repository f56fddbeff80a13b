# syntax=docker/dockerfile:1
# One image recipe for every MCP server of the workspace. Build from the repository root (the servers
# need the workspace's core package and its one lock), choosing the server with SERVER (and its port):
#   docker build --build-arg SERVER=db --build-arg PORT=8710 -t mcp-fleet-db .
# compose.yaml (generated from fleet.toml by `uv run fleet gateway kong`) builds it once per server.
# The image holds no secret and no configuration: everything comes from FLEET_<NAME>_* at run time.
# A server runs one worker process per CPU the container may use (FLEET_SERVER_WORKERS=auto; set
# FLEET_<NAME>_WORKERS to choose), all on its one port.

FROM ghcr.io/astral-sh/uv:python3.11-bookworm-slim AS build
ARG SERVER
RUN test -n "$SERVER" || { echo "build with --build-arg SERVER=<server name in fleet.toml>" >&2; exit 1; }
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The whole workspace (one lock); only fleet-$SERVER and its dependencies are installed, non-editable, so
# the runtime stage needs nothing but the virtualenv. --frozen: the lock is the truth, never re-resolved.
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "fleet-${SERVER}"
# One name for the entrypoint whatever the server is.
RUN test -x "/app/.venv/bin/fleet-${SERVER}" && ln -s "fleet-${SERVER}" /app/.venv/bin/fleet-server

FROM python:3.11-slim-bookworm
ARG SERVER
ARG PORT=8000
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin fleet
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLEET_SERVER=${SERVER} \
    FLEET_SERVER_PORT=${PORT} \
    FLEET_SERVER_WORKERS=auto
USER 10001:10001
EXPOSE ${PORT}
# Liveness from inside the container, with the Python the image already has (no curl in the image):
# the port is the server's FLEET_<NAME>_PORT when set, else the PORT the image was built for.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; n = os.environ['FLEET_SERVER'].upper().replace('-', '_'); p = os.environ.get(f'FLEET_{n}_PORT') or os.environ['FLEET_SERVER_PORT']; urllib.request.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=2)"]
ENTRYPOINT ["fleet-server"]
