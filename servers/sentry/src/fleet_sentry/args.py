"""Tool argument types shared by the tool modules: validated before any request reaches Sentry."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["Comment", "Cursor", "Environment", "IssueRef", "Limit", "Org", "Period", "ProjectRef", "Text"]

Org = Annotated[str | None, Field(description="Organization slug; defaults to the server's configured org")]
IssueRef = Annotated[
    str,
    Field(
        description="Issue id (4711) or short id (BACKEND-12)", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
    ),
]
Limit = Annotated[
    int, Field(ge=1, le=100, description="Most results to return (pages are followed up to this)")
]
# `+` and max_length, not `{1,200}`: the same rule, but a counted Unicode \w compiles to a 16 MB regex
# held for the life of the process (tests/test_pattern_memory.py)
Cursor = Annotated[
    str | None,
    Field(description="`next_cursor` from a previous answer", pattern=r"^[\w:.-]+$", max_length=200),
]
Period = Annotated[
    str | None, Field(description="Relative time range: 1h, 24h, 14d, 90d …", pattern=r"^\d{1,4}[smhdw]$")
]
Text = Annotated[str | None, Field(description="Optional filter text", max_length=200)]
Comment = Annotated[str | None, Field(description="Why (goes into the attribution note)", max_length=2000)]
ProjectRef = Annotated[str, Field(description="Project slug or numeric id", min_length=1, max_length=100)]
Environment = Annotated[str | None, Field(description="Environment, e.g. production", max_length=100)]
