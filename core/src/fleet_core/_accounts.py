"""Which backend account a caller acts as: the `user_map` setting every server shares (DESIGN §3.3)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

__all__ = ["UserMap", "dev_subject"]

# Fixed namespace of the dev users' subjects: the same name gives the same UUID on every machine.
_DEV_NAMESPACE = uuid.UUID("6f1c2b7e-5d1a-4e8b-9a3f-0c2d4e6f8a10")


def dev_subject(name: str) -> str:
    """The stable UUID `sub` a dev user gets, the way AuthGate gives every user a UUID (never the name)."""
    return str(uuid.uuid5(_DEV_NAMESPACE, name))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _user_map(value: object) -> object:
    """A dict, a JSON object string, or `@/path/to/file.json`; subject → account, both plain text."""
    where = "user_map"
    if isinstance(value, str):
        text = value
        if value.startswith("@"):
            where = f"user_map file {value[1:]}"
            try:
                text = Path(value[1:]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot read {where}: {exc}") from None
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f'{where} must be a JSON object of subject → account, e.g. {{"user-123": "alice"}}')
    for subject, account in value.items():
        for text in (subject, account):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: subjects and accounts must be non-empty strings, got {text!r}")
            if _CONTROL.search(text):
                raise ValueError(f"{where}: control character in {text!r}")
    return value


UserMap = Annotated[dict[str, str], NoDecode, BeforeValidator(_user_map)]
"""Settings type of a subject → backend account map: a dict, a JSON object, or `@/path/to/file.json`."""
