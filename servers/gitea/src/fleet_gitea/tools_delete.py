"""The destructive tools: each deletes something for good, is annotated destructiveHint=true, and does
nothing unless called with confirm=true (scope gitea:write; not registered when read-only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from fleet_core import DESTRUCTIVE, ToolError, requires

from . import models as m
from .args import FilePath, Owner, Repo
from .ops import GiteaOps

__all__ = ["register_deletes"]

WRITE_SCOPE = requires("gitea:write")
Confirm = Annotated[bool, Field(description="Must be true: this deletes for good")]
Name = Annotated[str, Field(min_length=1, max_length=250)]


def _confirmed(tool: str, confirm: bool) -> None:
    if confirm is not True:
        raise ToolError(f"{tool} deletes for good and did nothing: call it again with confirm=true")


def register_deletes(mcp: MCPServer, ops: GiteaOps, who: Callable[[Context[Any, Any]], str]) -> None:
    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_branch(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, branch: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete a branch (protected and default branches are refused by Gitea). Needs confirm=true."""
        _confirmed("delete_branch", confirm)
        return await ops.delete_branch(who(ctx), owner, repo, branch)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_tag(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, tag: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete a tag. Needs confirm=true."""
        _confirmed("delete_tag", confirm)
        return await ops.delete_tag(who(ctx), owner, repo, tag)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_release(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, tag: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete the release of a tag (the tag itself stays; see delete_tag). Needs confirm=true."""
        _confirmed("delete_release", confirm)
        return await ops.delete_release(who(ctx), owner, repo, tag)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_file(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        path: FilePath,
        sha: Annotated[
            str,
            Field(
                description="Blob SHA from get_file_contents: refused if the file changed since you read it",
                pattern="^[0-9a-f]{40}([0-9a-f]{24})?$",
            ),
        ],
        message: Annotated[str, Field(description="Commit message", min_length=1, max_length=5000)],
        branch: Annotated[
            str | None, Field(description="Branch (default branch if omitted)", max_length=250)
        ] = None,
        confirm: Confirm = False,
    ) -> m.FileWrite:
        """Delete a file in one commit, as you (it stays in history). Needs confirm=true."""
        _confirmed("delete_file", confirm)
        return await ops.delete_file(who(ctx), owner, repo, path, sha, message, branch)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_label(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, name: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete a label (it disappears from every issue). Needs confirm=true."""
        _confirmed("delete_label", confirm)
        return await ops.delete_label(who(ctx), owner, repo, name)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_milestone(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, title: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete a milestone (its issues stay, without it). Needs confirm=true."""
        _confirmed("delete_milestone", confirm)
        return await ops.delete_milestone(who(ctx), owner, repo, title)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def delete_wiki_page(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page_name: Name, confirm: Confirm = False
    ) -> m.DeletedThing:
        """Delete a wiki page. Needs confirm=true."""
        _confirmed("delete_wiki_page", confirm)
        return await ops.delete_wiki_page(who(ctx), owner, repo, page_name)
