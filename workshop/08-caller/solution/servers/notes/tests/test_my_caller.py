"""My test of acting as the caller (workshop chapter 08): the backend account comes from the token's
username claim or the user map, never from the subject (a UUID), and a caller with neither is refused
before anything reaches the backend."""

from __future__ import annotations

import httpx2
from mcp.types import CallToolResult

from fleet_core.testing import JwtIssuer, connect, serve_server, settings_for, text_of
from fleet_notes.backend import NotesClient
from fleet_notes.fake import FAKE_TOKEN, FakeNotes
from fleet_notes.server import build_server
from fleet_notes.settings import NAME, NotesSettings

BOTH = "notes:read notes:write"


# --8<-- [start:test]
async def test_the_backend_sees_the_callers_account(fake: FakeNotes) -> None:
    async with JwtIssuer() as issuer:  # a throwaway AuthGate: signs tokens, serves its keys
        settings = settings_for(
            NotesSettings,
            name=NAME,
            trust_mode="jwt",  # the server checks the token itself, as in production
            issuer=issuer.url,
            url="http://fake.test",
            token=FAKE_TOKEN,
            user_map={"client:ci-bot": "ci-bot"},  # the bot has no username claim: map it to an account
        )
        alice = issuer.mint(settings.public_url, scope=BOTH)  # sub: a UUID, extra_uid: "alice"
        bot = issuer.mint(settings.public_url, scope=BOTH, sub="client:ci-bot", extra_uid=None)
        stranger = issuer.mint(settings.public_url, scope=BOTH, sub="client:other", extra_uid=None)
        answers: list[CallToolResult] = []
        backend = NotesClient(settings, transport=httpx2.ASGITransport(app=fake))
        async with backend, serve_server(build_server(settings, backend), settings) as url:
            for token in (alice, bot, stranger):  # each calls add_note with its own token
                async with connect(url, token=token, secret=None) as client:
                    answers.append(await client.call_tool("add_note", {"title": "hi"}))
    assert answers[0].structured_content == {"id": 1, "title": "hi", "owner": "alice"}
    assert answers[1].structured_content == {"id": 2, "title": "hi", "owner": "ci-bot"}
    assert answers[2].is_error
    assert "'client:other' has no notes account name" in text_of(answers[2])
    assert fake.acted_as == ["alice", "ci-bot"]  # the stranger's call never reached the backend
    # --8<-- [end:test]
