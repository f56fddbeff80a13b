"""Compose hook (`fleet gateway kong`): Sentry is SaaS or self-hosted, outside the stack (egress only)."""

from __future__ import annotations

from fleet_core.deploy import Backend, optional, required

__all__ = ["backend"]


def backend() -> Backend:
    return Backend(
        env={
            "FLEET_SENTRY_BASE_URL": optional("FLEET_SENTRY_BASE_URL", "https://sentry.io"),
            "FLEET_SENTRY_ORG": required("FLEET_SENTRY_ORG", "your Sentry organization slug"),
            "FLEET_SENTRY_AUTH_TOKEN": required(
                "FLEET_SENTRY_AUTH_TOKEN", "a Sentry org token, see servers/sentry/README.md"
            ),
        },
        internal=False,  # SaaS or self-hosted Sentry is outside the stack
        env_example=(
            "# --- sentry: SaaS or self-hosted (servers/sentry/README.md)",
            "# FLEET_SENTRY_BASE_URL=https://sentry.io",
            "FLEET_SENTRY_ORG=",
            "FLEET_SENTRY_AUTH_TOKEN=",
        ),
    )
