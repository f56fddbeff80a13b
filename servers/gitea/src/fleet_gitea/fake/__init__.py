"""A fake Gitea (API v1) for tests and the `fleet dev` demo backend — NOT a real Gitea.

Written from the official swagger: every request is checked against the spec subset the project
carries (`fake_spec.py`: path, method, query/path parameter types, JSON body schema) and every
answer is checked against the response schema, so the fake only says what a real Gitea could say.
Violations are recorded in `FakeGitea.violations` (tests assert it stays empty) and answered 400.

It honours the service token + `Sudo` model: requests must carry `Authorization: token <token>`;
`Sudo: <login>` makes the request act as that user, with simple per-user permissions (a private
repo is invisible to non-collaborators → 404; a write needs owner/collaborator-write → 403).
Every request is recorded with its Sudo header so tests can prove who the server acted as.
Gitea sends `null` for absent objects; the swagger has no nullable, so the fake omits such keys.

Layout: `state.py` (the data model, seed data, permissions, paging), `app.py` (`FakeGitea`: the ASGI
front, spec checks, fault injection; `serve_fake`), and one module of routes per group of the
server's tools: `repos.py` (repos, refs, commits, files), `issues.py`, `pulls.py`, `releases.py`
(releases, labels, milestones), `actions.py`, `wiki.py`.
"""

from .app import FakeGitea, serve_fake
from .state import RecordedRequest, blob_sha

__all__ = ["FakeGitea", "RecordedRequest", "blob_sha", "serve_fake"]
