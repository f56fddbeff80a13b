"""Every tool answers with a result or a clear tool error (DESIGN §6) — never a bare crash.

The SDK reports any exception other than `ToolError` as only "Error executing tool <name>", so the
caller can't tell a backend answer the tool didn't expect from a bug. `guard` wraps each tool
function: a `ToolError` passes through unchanged; a shape error (a missing key, a value of another
type, undecodable content — what a spec-legal but unforeseen backend answer causes) becomes a tool
error that says so and names the exception; anything else becomes a tool error naming its type.
The traceback stays in the server log (nothing from it is echoed beyond the exception's type and a
clipped message for shape errors, which describe backend data, not secrets).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mcp.server.mcpserver.exceptions import ResourceError
from mcp.shared.exceptions import MCPError

from ._errors import ToolError

__all__ = ["guard"]

logger = logging.getLogger("fleet.core")
F = TypeVar("F", bound=Callable[..., Any])
# What an answer of an unexpected shape raises in code that reads it.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, UnicodeError)
MAX_DETAIL = 200


def _explain(exc: Exception) -> str:
    if isinstance(exc, SHAPE_ERRORS):
        detail = str(exc).splitlines()[0] if str(exc) else ""
        detail = detail[:MAX_DETAIL] + ("…" if len(detail) > MAX_DETAIL else "")
        return (
            "the backend answered in a shape this tool does not handle "
            f"({type(exc).__name__}{': ' + detail if detail else ''}); the server log has the details"
        )
    return f"internal error ({type(exc).__name__}); the server log has the details"


def guard(fn: F, name: str | None = None) -> F:
    """`fn` with unexpected exceptions turned into a ToolError that says what went wrong."""
    tool = name or getattr(fn, "__name__", "tool")

    def convert(exc: Exception) -> ToolError:
        logger.error("tool %s failed unexpectedly", tool, exc_info=exc)
        return ToolError(_explain(exc))

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except (ToolError, ResourceError, MCPError):
                raise
            except Exception as exc:
                raise convert(exc) from exc

        return cast(F, async_wrapper)  # functools.wraps keeps fn's signature; mypy can't see that

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ToolError, ResourceError, MCPError):
            raise
        except Exception as exc:
            raise convert(exc) from exc

    return cast(F, wrapper)
