"""Fake Gitea routes for the repository wiki."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FRepo, PathParams, Query, Reply, _sha


class WikiRoutes(FakeState):
    """Wiki routes of `FakeGitea`."""

    async def op_repoGetWikiPages(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(sorted(repo.wiki), q, req)
        return 200, [self._wiki_meta(repo, name) for name in items], headers

    def _wiki_meta(self, repo: FRepo, name: str) -> dict[str, Any]:
        who = {"name": repo.owner.title(), "email": f"{repo.owner}@example.test", "date": T0}
        return {
            "title": name.replace("-", " "),
            "sub_url": quote(name),
            "html_url": f"{self.base_url}/{repo.full_name}/wiki/{quote(name)}",
            "last_commit": {
                "sha": _sha("wiki", name),
                "message": f"Update {name}",
                "author": who,
                "commiter": who,
            },
        }

    async def op_repoGetWikiPage(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        name = p["pageName"].replace(" ", "-")
        if name not in repo.wiki:
            raise FakeError(404, "wiki page does not exist")
        return (
            200,
            {
                **self._wiki_meta(repo, name),
                "commit_count": 1,
                "footer": "",
                "sidebar": "",
                "content_base64": repo.odd_wiki_base64.get(name)
                or base64.b64encode(repo.wiki[name].encode()).decode(),
            },
            {},
        )
