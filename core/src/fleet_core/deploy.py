"""The deploy hook: what one server needs in the production-like stack (compose.yaml, .env.example).

A server with a backend to run or reach has `fleet_<name>/deploy.py` with one function — the compose
counterpart of its `fleet_<name>/dev.py` hook — and `fleet gateway kong` does the rest (its container
from the one Dockerfile, the networks, the core settings, the gateway secret):

    from fleet_core.deploy import Backend, required

    def backend() -> Backend:
        return Backend(
            env={"FLEET_NOTES_URL": "https://notes.example.com",
                 "FLEET_NOTES_TOKEN": required("FLEET_NOTES_TOKEN", "a service token of the notes API")},
            internal=False,  # the backend is outside the stack: an egress network, still no published port
            env_example=("# --- notes: a service token of the notes API", "FLEET_NOTES_TOKEN="),
        )

A server without `deploy.py` (or whose hook returns `Backend()`) gets its container on the `mcp`
network only. Secrets are always `required(...)` references: compose refuses to start without them
and no value is ever written into a generated file.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._settings import package_name

__all__ = ["Backend", "hook", "optional", "required"]


def required(var: str, why: str) -> str:
    """A compose reference that refuses to start without the variable (never a default for a secret)."""
    return f"${{{var}:?{why}}}"


def optional(var: str, default: str) -> str:
    """A compose reference with a default (for what is not a secret)."""
    return f"${{{var}:-{default}}}"


@dataclass(frozen=True)
class Backend:
    """What one server needs besides the core settings: env, its own network and the services on it."""

    env: Mapping[str, str] = field(default_factory=dict)  # added to the server's container environment
    internal: bool = True  # False: the network has a gateway to the outside (egress), still no published port
    depends_on: Mapping[str, str] = field(default_factory=dict)  # service → compose condition
    services: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # on the server's backend network
    # one-shot services run from the server's own image (the one Dockerfile with SERVER=<name>), e.g. a
    # provisioning job that imports the server's package instead of a copy of its code
    jobs: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()  # named volumes the services use
    server_volumes: tuple[str, ...] = ()  # mounted into the server itself (e.g. a token an init job wrote)
    env_example: tuple[str, ...] = ()  # this server's section of .env.example: comments and `VAR=` lines
    generated_secrets: tuple[str, ...] = ()  # variables `fleet stack init` fills with a random value

    @property
    def has_network(self) -> bool:
        """Whether the server needs a network of its own: a backend service or job on it, or the outside."""
        return bool(self.services or self.jobs or not self.internal)


def hook(server: str) -> Backend | None:
    """`fleet_<server>.deploy.backend()`, or None when the server has no deploy hook (or is not installed).
    A hook that exists but fails raises: a broken deploy description must not silently drop a backend."""
    module_name = package_name(server) + ".deploy"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name in (module_name, package_name(server)):
            return None
        raise
    backend = module.backend()
    if not isinstance(backend, Backend):
        raise TypeError(f"{module_name}.backend() returned {type(backend).__name__}, not a deploy.Backend")
    return backend
