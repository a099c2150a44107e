"""The key-encryption key is worked out once per setting: it is asked for with
every record sealed or opened, and finding the data folder's key file costs
system calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from tousu.shared.privacy.crypto import MASTER_KEY_ENV, master_key


def test_asked_again_it_reads_no_path_until_the_setting_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.setenv("TOUSU_DATA_DIR", str(tmp_path / "one"))
    master_key.cache_clear()
    try:
        first = master_key()
        looked: list[str] = []
        resolve = Path.resolve

        def counting(self: Path, strict: bool = False) -> Path:
            looked.append(str(self))
            return resolve(self, strict)

        monkeypatch.setattr(Path, "resolve", counting)
        assert master_key() == first
        assert looked == []
        monkeypatch.setenv("TOUSU_DATA_DIR", str(tmp_path / "two"))
        assert master_key() != first  # another folder, another key file
        assert looked  # looked up once more, for the new folder
    finally:
        master_key.cache_clear()
