"""AuthGate-shaped tokens in jwt trust mode: `sub` is a UUID, the username is `extra_uid`, and Gitea's
`Sudo` carries the username — never the UUID, never the service account (issue 11, F7)."""

from __future__ import annotations

import anyio

from fleet_core import TrustMode, dev_subject
from fleet_core.testing import JwtIssuer, connect, text_of
from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import ALL, Harness, mcp_in_front


async def test_sudo_carries_the_username_claim_and_a_token_without_it_is_refused(
    shared: Harness, fake: FakeGitea
) -> None:
    async with (
        JwtIssuer() as issuer,
        mcp_in_front(fake, shared.gitea_url, trust_mode=TrustMode.JWT, issuer=issuer.url) as running,
    ):
        resource = running.settings.public_url
        good = issuer.mint(resource, scope=ALL)  # sub = alice's UUID, extra_uid = "alice"
        bare = issuer.mint(resource, scope=ALL, extra_uid=None)
        with anyio.fail_after(20):
            async with connect(running.url, token=good, secret=None) as client:
                me = await client.call_tool("get_me", {})
                who = await client.call_tool("whoami", {})
            mark = len(fake.requests)
            async with connect(running.url, token=bare, secret=None) as client:
                refused = await client.call_tool("get_me", {})
    assert me.structured_content is not None
    assert me.structured_content["login"] == "alice"
    assert who.structured_content is not None
    assert (who.structured_content["subject"], who.structured_content["account"]) == (
        dev_subject("alice"),
        "alice",
    )
    assert {r.sudo for r in fake.requests[:mark]} == {"alice"}
    assert refused.is_error
    assert "has no Gitea account name" in text_of(refused)
    assert fake.requests[mark:] == []  # nothing went to Gitea, least of all without Sudo
