"""Keys kept in the data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tousu.shared.keys import KeyUnavailable, stored_key


def test_a_stored_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "access-code-key"
    first = stored_key(path)
    assert len(first) >= 32 and stored_key(path) == first
    assert path.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == ["access-code-key"]
    path.write_bytes(b"short")
    with pytest.raises(KeyUnavailable):
        stored_key(path)
