"""Errors a tool raises; each becomes a clear tool error for the caller and an audit outcome."""

from __future__ import annotations

from contextvars import ContextVar

from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["BackendError", "DevBackendUnavailable", "ToolError"]

# Set by the audit middleware around each tools/call; BackendError marks it so the audit line
# says backend_error rather than tool_error (the SDK turns both into the same is_error result).
call_outcome: ContextVar[dict[str, str] | None] = ContextVar("fleet_call_outcome", default=None)


class BackendError(ToolError):
    """The backend failed (unreachable, timed out, 5xx): not the caller's fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        outcome = call_outcome.get()
        if outcome is not None:
            outcome["outcome"] = "backend_error"


class DevBackendUnavailable(Exception):
    """A server's dev backend can't start here; the message says what to install or configure."""
