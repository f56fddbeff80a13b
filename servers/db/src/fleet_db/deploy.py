"""Compose hook (`fleet gateway kong`): PostgreSQL, and a one-shot job provisioning it from this image."""

from __future__ import annotations

from fleet_core.deploy import Backend, optional, required

__all__ = ["backend"]

# `fleet_db.provision` is the one definition of the roles, hardening and demo schema: the job runs it
# from the db server's own image instead of a copy of its SQL.
PROVISION = (
    "import os; from fleet_db.provision import provision; "
    "provision(os.environ['FLEET_DB_ADMIN_URL'], password=os.environ['FLEET_DB_AUTHENTICATOR_PASSWORD'], "
    "demo=os.environ['FLEET_DB_PROVISION_DEMO'] == 'true'); "
    "print('fleet-db: roles, hardening and schema provisioned')"
)


def backend() -> Backend:
    db_password = required("FLEET_DB_AUTHENTICATOR_PASSWORD", "set the fleet_authenticator password in .env")
    postgres_password = required("FLEET_POSTGRES_PASSWORD", "set the PostgreSQL superuser password in .env")
    return Backend(
        env={
            # libpq reads the password from PGPASSWORD, so the URL carries no secret and needs no escaping
            "FLEET_DB_DATABASE_URL": "postgresql://fleet_authenticator@postgres:5432/fleet",
            "PGPASSWORD": db_password,
        },
        depends_on={"db-provision": "service_completed_successfully"},
        services={
            "postgres": {
                "image": "postgres:17",
                "command": ["postgres", "-c", "shared_preload_libraries=pg_stat_statements"],
                "environment": {"POSTGRES_PASSWORD": postgres_password},
                "volumes": ["postgres-data:/var/lib/postgresql/data"],
                "healthcheck": {
                    "test": ["CMD", "pg_isready", "-U", "postgres"],
                    "interval": "5s",
                    "timeout": "3s",
                    "retries": 20,
                },
                "restart": "unless-stopped",
            },
        },
        jobs={
            "db-provision": {
                "entrypoint": ["python", "-c", PROVISION],
                "environment": {
                    "FLEET_DB_ADMIN_URL": "postgresql://postgres@postgres:5432/postgres",
                    "PGPASSWORD": postgres_password,
                    "FLEET_DB_AUTHENTICATOR_PASSWORD": db_password,
                    # true reloads the demo schema (demo.members/tickets) on every start
                    "FLEET_DB_PROVISION_DEMO": optional("FLEET_DB_PROVISION_DEMO", "true"),
                },
                "depends_on": {"postgres": {"condition": "service_healthy"}},
                "restart": "no",
            },
        },
        volumes=("postgres-data",),
        env_example=(
            "# --- db: PostgreSQL superuser, and the password db-provision gives fleet_authenticator",
            "FLEET_POSTGRES_PASSWORD=",
            "FLEET_DB_AUTHENTICATOR_PASSWORD=",
            "# FLEET_DB_PROVISION_DEMO=true   # false: keep the demo schema as it is across restarts",
        ),
        generated_secrets=("FLEET_POSTGRES_PASSWORD", "FLEET_DB_AUTHENTICATOR_PASSWORD"),
    )
