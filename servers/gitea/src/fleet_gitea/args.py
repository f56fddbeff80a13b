"""Typed tool arguments shared by the read and write tools (descriptions land in inputSchema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

Owner = Annotated[
    str,
    Field(
        description="Repository owner (user or organization)", pattern=r"^[A-Za-z0-9_.-]+$", max_length=100
    ),
]
Repo = Annotated[str, Field(description="Repository name", pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)]
Number = Annotated[int, Field(description="Issue or pull request number", ge=1)]
PullNumber = Annotated[int, Field(description="Pull request number", ge=1)]
Page = Annotated[int, Field(description="Page number, from 1", ge=1, le=10_000)]
Limit = Annotated[int, Field(description="Items per page (max 50)", ge=1, le=50)]
Ref = Annotated[str, Field(description="Branch, tag or commit SHA", min_length=1, max_length=250)]
OptRef = Annotated[
    str | None, Field(description="Branch, tag or commit SHA (default: the default branch)", max_length=250)
]
FilePath = Annotated[
    str,
    Field(description="Path of the file in the repository, e.g. src/app.py", min_length=1, max_length=1000),
]
State = Annotated[Literal["open", "closed", "all"], Field(description="Filter by state")]
Text = Annotated[str, Field(description="Markdown text", max_length=65_536)]
Title = Annotated[str, Field(description="Title", min_length=1, max_length=255)]
Logins = Annotated[list[str], Field(description="Gitea usernames", max_length=20)]
LabelNames = Annotated[
    list[str], Field(description="Label names (see list_labels)", min_length=1, max_length=20)
]
