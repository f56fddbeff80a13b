"""Compose hook (`fleet gateway kong`): Gitea, and a one-shot job creating its service account and token."""

from __future__ import annotations

from fleet_core.deploy import Backend, required

__all__ = ["backend"]


def backend() -> Backend:
    return Backend(
        env={
            "FLEET_GITEA_URL": "http://gitea:3000",
            # written by gitea-init to a volume only it and mcp-gitea mount
            "FLEET_GITEA_TOKEN_FILE": "/run/fleet-gitea/token",
        },
        depends_on={"gitea": "service_started", "gitea-init": "service_completed_successfully"},
        volumes=("gitea-data", "gitea-token"),
        server_volumes=("gitea-token:/run/fleet-gitea:ro",),
        services={
            # one-shot and idempotent: the site-admin service account (once) and its token (kept while
            # the token file exists), through Gitea's own admin CLI (fleet_gitea.provision)
            "gitea-init": {
                "build": {"context": ".", "dockerfile": "servers/gitea/init.Dockerfile"},
                "image": "mcp-fleet-gitea-init:local",
                "environment": {"FLEET_GITEA_TOKEN_FILE": "/run/fleet-gitea/token"},
                "volumes": ["gitea-data:/data", "gitea-token:/run/fleet-gitea"],
                "depends_on": {"gitea": {"condition": "service_started"}},
                "restart": "no",
            },
            "gitea": {
                "image": "gitea/gitea:1.24",
                "environment": {
                    "USER_UID": "1000",
                    "USER_GID": "1000",
                    # F12: otherwise Gitea uses its hard-coded default (modules/setting/security.go)
                    "GITEA__security__SECRET_KEY": required(
                        "FLEET_GITEA_SECRET_KEY",
                        "set FLEET_GITEA_SECRET_KEY in .env (uv run fleet stack init)",
                    ),
                    "GITEA__database__DB_TYPE": "sqlite3",
                    "GITEA__server__DOMAIN": "gitea",
                    "GITEA__server__ROOT_URL": "http://gitea:3000/",
                    "GITEA__security__INSTALL_LOCK": "true",
                    "GITEA__service__DISABLE_REGISTRATION": "true",
                },
                "volumes": ["gitea-data:/data"],
                "restart": "unless-stopped",
            },
        },
        env_example=(
            "# --- gitea: Gitea's own SECRET_KEY (without it Gitea uses a hard-coded default). gitea-init",
            "# creates the service account and its token (in the gitea-token volume) itself.",
            "FLEET_GITEA_SECRET_KEY=",
        ),
        generated_secrets=("FLEET_GITEA_SECRET_KEY",),
    )
