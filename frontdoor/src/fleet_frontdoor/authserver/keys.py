"""RS256 signing keys kept in the store, published as a JWKS.

The newest unretired key signs; every unretired key stays in the JWKS so tokens signed before a
rotation keep verifying until `retire_old()` drops them (two keys during rotation).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from fleet_frontdoor.authserver.store import Store


class KeyRing:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, rsa.RSAPrivateKey] = {}
        if self._store.one("SELECT kid FROM keys WHERE retired = 0") is None:
            self.rotate()

    def rotate(self) -> str:
        """Create a new signing key; the previous one stays published. Returns the new `kid`."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        kid = secrets.token_urlsafe(12)
        self._store.run("INSERT INTO keys (kid, pem, created) VALUES (?, ?, ?)", kid, pem, time.time())
        return kid

    def retire_old(self) -> None:
        """End a rotation: only the current signing key stays published."""
        self._store.run("UPDATE keys SET retired = 1 WHERE kid != ?", self.signing()[0])

    def signing(self) -> tuple[str, rsa.RSAPrivateKey]:
        row = self._store.one("SELECT kid, pem FROM keys WHERE retired = 0 ORDER BY created DESC, rowid DESC")
        assert row is not None
        return row["kid"], self._load(row["kid"], row["pem"])

    def public_keys(self) -> dict[str, rsa.RSAPublicKey]:
        rows = self._store.all("SELECT kid, pem FROM keys WHERE retired = 0 ORDER BY created DESC")
        return {r["kid"]: self._load(r["kid"], r["pem"]).public_key() for r in rows}

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, public in self.public_keys().items():
            jwk = json.loads(RSAAlgorithm.to_jwk(public))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def _load(self, kid: str, pem: str) -> rsa.RSAPrivateKey:
        if kid not in self._cache:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._cache[kid] = key
        return self._cache[kid]
