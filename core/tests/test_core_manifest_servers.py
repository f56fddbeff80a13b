"""`fleet_core.testing.manifest_servers`: what tests parametrize over instead of a hard-coded server list."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_core.testing import manifest_servers

REPO = Path(__file__).resolve().parents[2]


def test_the_repo_manifest_lists_every_server_package() -> None:
    names = manifest_servers(REPO / "core" / "tests")
    assert names[:1] == ["db"]
    assert sorted(names) == sorted(
        p.name for p in (REPO / "servers").iterdir() if (p / "pyproject.toml").is_file()
    )


def test_the_nearest_manifest_wins_in_order_and_disabled_servers_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "fleet.toml").write_text(
        '[[servers]]\nname = "zeta"\n\n[[servers]]\nname = "off"\nenabled = false\n\n'
        '[[servers]]\nname = "my-svc"\n'
    )
    nested = tmp_path / "servers" / "zeta" / "tests"
    nested.mkdir(parents=True)
    assert manifest_servers(nested) == ["zeta", "my-svc"]
    assert manifest_servers(str(tmp_path)) == ["zeta", "my-svc"]


def test_no_manifest_is_an_error_not_an_empty_parametrization(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no fleet\.toml"):
        manifest_servers(tmp_path)
