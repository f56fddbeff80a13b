"""The workshop engine behind `fleet workshop`: chapters.toml, computed chapter states, catch-up,
the per-chapter checks with hints in English and 繁體中文, and the machine doctor."""

from __future__ import annotations

from .chapters import WORK, Chapter, Workshop, WorkshopError, find_root, load_workshop
from .states import State, catch_up, changed, end_state, start_state, write_state

__all__ = [
    "WORK",
    "Chapter",
    "State",
    "Workshop",
    "WorkshopError",
    "catch_up",
    "changed",
    "end_state",
    "find_root",
    "load_workshop",
    "start_state",
    "write_state",
]
