"""The public surface is on purpose: everything exported is listed, sorted, and importable."""

from __future__ import annotations

import fleet_core
import fleet_core.testing


def test_all_is_sorted_and_complete() -> None:
    for module in (fleet_core, fleet_core.testing):
        assert module.__all__ == sorted(module.__all__, key=lambda name: (not name.isupper(), name))
        public = {
            name
            for name in dir(module)
            if not name.startswith("_") and not isinstance(getattr(module, name), type(fleet_core))
        }
        assert set(module.__all__) <= public
