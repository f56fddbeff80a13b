# syntax=docker/dockerfile:1
# The compose stack's one-shot `authgate-init` job: python3 running fleet_frontdoor/authgate_init.py
# (standard library only), which registers the OAuth clients of fleet.toml through AuthGate's admin web
# UI and writes their generated ids and confidential secrets to the mounted .secrets/authgate-clients.
# Built from the repository root (compose: context ".").
FROM python:3.11-slim-bookworm
COPY frontdoor/src/fleet_frontdoor/authgate_init.py /opt/fleet/authgate_init.py
ENTRYPOINT ["python3", "-I", "/opt/fleet/authgate_init.py"]
