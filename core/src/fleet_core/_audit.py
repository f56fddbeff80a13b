"""One JSON line per tool call (and per refused request) on the `fleet.audit` logger (DESIGN §5).

Never a token, never raw arguments: arguments are reduced to a digest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from ._errors import call_outcome
from ._identity import Identity
from ._local import local_identity

__all__ = ["AuditMiddleware", "audit", "audit_logger"]

audit_logger = logging.getLogger("fleet.audit")


def configure_audit_logging() -> None:
    """Send audit lines to stderr as bare JSON unless the application configured a handler."""
    if not audit_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit_logger.addHandler(handler)
        audit_logger.setLevel(logging.INFO)
        audit_logger.propagate = False


# Built once: `json.dumps` with any option builds a new encoder per call (a third of a line's JSON cost).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_LINE = json.JSONEncoder(separators=(",", ":"), default=str)


def _digest(canonical: str) -> str:
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


# A call without arguments (absent, or `{}`) is the common case; its digest never changes.
_ABSENT, _EMPTY = _digest("null"), _digest("{}")


def digest(arguments: Any) -> str:
    if arguments is None:
        return _ABSENT
    if type(arguments) is dict and not arguments:
        return _EMPTY
    return _digest(_CANONICAL.encode(arguments))


def audit(server: str, outcome: str, identity: Identity | None = None, **fields: Any) -> None:
    if not audit_logger.isEnabledFor(logging.INFO):
        return
    line: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "server": server,
        "outcome": outcome,
    }
    if identity is not None:
        line |= {
            "subject": identity.subject,
            "account": identity.account,
            "client": identity.client_id,
            "token_id": identity.token_id,
        }
    line |= fields
    text = _LINE.encode(line)
    # Logger.info would also walk the stack for the caller's file and line (logging.findCaller) on
    # every call; an audit line names its own origin, so the record is made without that walk. Filters,
    # handlers and propagation are the logger's as ever (Logger.handle).
    audit_logger.handle(audit_logger.makeRecord(audit_logger.name, logging.INFO, __file__, 0, text, (), None))


class AuditMiddleware:
    """SDK ServerMiddleware: times each tools/call and records its outcome."""

    def __init__(self, server: str) -> None:
        self.server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, dict) else {}
        tool = params.get("name")
        identity = (
            ctx.request.scope.get("fleet.identity") if ctx.request is not None else local_identity.get()
        )
        sentry_sdk = sys.modules.get("sentry_sdk")
        if sentry_sdk is None or not sentry_sdk.get_client().is_active():
            return await self._call(ctx, call_next, tool, identity, params)
        # The call's tags and user go on an isolation scope of its own. The SDK may run the handler in
        # a task of its session manager (2025-11-25), whose context all requests share: tags set there
        # would reach the next caller's events.
        with sentry_sdk.isolation_scope():
            _sentry_tags(self.server, tool, identity)
            return await self._call(ctx, call_next, tool, identity, params)

    async def _call(
        self,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
        tool: object,
        identity: Identity | None,
        params: dict[str, Any],
    ) -> HandlerResult:
        outcome = {"outcome": "ok"}
        token = call_outcome.set(outcome)
        started = time.perf_counter()
        try:
            result = await call_next(ctx)
        except Exception:
            outcome["outcome"] = "tool_error"
            raise
        else:
            is_error = getattr(result, "is_error", None)
            if is_error is None and isinstance(result, dict):
                is_error = result.get("isError")
            if is_error and outcome["outcome"] == "ok":
                outcome["outcome"] = "tool_error"
            return result
        finally:
            call_outcome.reset(token)
            audit(
                self.server,
                outcome["outcome"],
                identity,
                tool=tool if isinstance(tool, str) else None,
                args=digest(params.get("arguments")),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )


# --8<-- [start:tags]
def _sentry_tags(server: str, tool: object, identity: Identity | None) -> None:
    import sentry_sdk  # imported already: only called while its client is active

    scope = sentry_sdk.get_isolation_scope()
    scope.set_tag("fleet.server", server)
    if isinstance(tool, str):
        scope.set_tag("fleet.tool", tool)
    if identity is not None:
        scope.set_user({"id": identity.subject, "username": identity.account})


# --8<-- [end:tags]
