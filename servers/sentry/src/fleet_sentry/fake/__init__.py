"""FAKE SENTRY — a demo/test stand-in, not Sentry.

An in-process ASGI app that speaks the part of Sentry's REST API this server uses, written from
Sentry's official OpenAPI spec (the subset carried in `_spec/sentry-subset.json`):

- every request is checked against the spec (path, method, query parameters, body schema); a
  mismatch is answered 400 and recorded in `violations`, so tests fail on any undocumented call;
- answers are built from the spec's own examples and checked against the response schemas
  (`response_violations`);
- pagination with Sentry's `Link` header cursors, Sentry's 400 shape for bad search syntax,
  and injected 429 (with Retry-After), 5xx and stalls.

`fleet dev` serves it as the Sentry backend when no real Sentry is configured (see dev.py).

Layout: `search.py` (Sentry's search syntax and periods), `state.py` (the seeded data, actors, paging),
`app.py` (`FakeSentry`: the ASGI front, spec checks, faults; `serve_fake`), and one module of routes per
concept: `orgs.py`, `issues.py`, `events.py`, `releases.py`.
"""

from .app import FakeSentry, serve_fake
from .search import QueryError, parse_search
from .state import FAKE_TOKEN, Call

__all__ = ["FAKE_TOKEN", "Call", "FakeSentry", "QueryError", "parse_search", "serve_fake"]
