"""Verified claims → the X-MCP-* identity headers: the one mapping lives in fleet_core (the identity
contract both sides keep); the gateway re-exports it under the names its callers use."""

from __future__ import annotations

from fleet_core import IdentityError as ClaimError
from fleet_core import claim_headers as forwarded_headers

__all__ = ["ClaimError", "forwarded_headers"]
