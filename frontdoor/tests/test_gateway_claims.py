"""Claims → X-MCP-* values, exactly as kong-mcp-oauth2's access.go renders them (G19, G20, G21)."""

from __future__ import annotations

import pytest

from fleet_frontdoor.gateway import ClaimError, forwarded_headers


def rendered(**claims: object) -> dict[str, str]:
    return dict(forwarded_headers(claims))


def test_all_seven_headers_in_plugin_order() -> None:
    claims = {"sub": "alice", "scope": "db:read", "iss": "https://as", "aud": "https://gw/mcp/db"}
    headers = forwarded_headers(claims | {"client_id": "c", "jti": "j", "exp": 1_800_000_000})
    assert headers == [
        ("x-mcp-subject", "alice"),
        ("x-mcp-scope", "db:read"),
        ("x-mcp-issuer", "https://as"),
        ("x-mcp-audience", "https://gw/mcp/db"),
        ("x-mcp-client", "c"),
        ("x-mcp-token-id", "j"),
        ("x-mcp-expires", "2027-01-15T08:00:00Z"),
    ]


def test_wrong_typed_or_absent_claims_render_empty_so_the_header_is_cleared() -> None:
    headers = rendered(sub=7, scope=["db:read"], iss=None, aud={"x": 1}, client_id=3, jti=1.5, exp="soon")
    assert set(headers.values()) == {""}
    assert rendered(exp=True)["x-mcp-expires"] == ""  # a JSON boolean is not a NumericDate


def test_audience_arrays_are_space_joined_skipping_non_strings() -> None:
    assert rendered(aud=["https://a", 5, "https://b"])["x-mcp-audience"] == "https://a https://b"


def test_client_id_wins_over_azp_and_azp_fills_in() -> None:
    assert rendered(client_id="cid", azp="azp")["x-mcp-client"] == "cid"
    assert rendered(azp="azp")["x-mcp-client"] == "azp"
    assert rendered(client_id="", azp="azp")["x-mcp-client"] == "azp"


def test_fractional_exp_is_truncated_like_go_int64() -> None:
    assert rendered(exp=1_800_000_000.9)["x-mcp-expires"] == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize("claim", ["sub", "scope", "iss", "client_id", "azp", "jti"])
@pytest.mark.parametrize("bad", ["\r", "\n", "\x00", "\t", "\x1f", "\x7f"])
def test_control_characters_in_any_forwarded_claim_are_refused(claim: str, bad: str) -> None:
    with pytest.raises(ClaimError):
        forwarded_headers({"sub": "alice", claim: f"x{bad}y"})


def test_non_ascii_is_not_a_control_character() -> None:
    assert rendered(sub="josé")["x-mcp-subject"] == "josé"
