"""Files tousu writes under the data folder are readable by their owner only,
whatever the umask of the process that writes them."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tousu.services.followup.notices import NoticeChannel, NoticeKind, Notification
from tousu.services.followup.notices.letter import LetterSender
from tousu.shared.keys import stored_key
from tousu.shared.private_files import tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def lax_umask() -> Iterator[None]:
    # A process started without tousu's own umask (a library caller, a test run).
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_a_letter_and_its_folders_are_the_owners_only(tmp_path: Path) -> None:
    letters = tmp_path / "var" / "letters"
    notice = Notification(
        source_event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        tracking_no="TS2612-00001-00001",
        kind=NoticeKind.ACCEPTANCE,
        channel=NoticeChannel.LETTER,
        recipient="北京市朝阳区某路 1 号",
        recipient_name="张三",
        title="受理告知书",
        body="您的投诉已受理。",
    )
    written = letters / await LetterSender(letters).send(notice)
    assert "张三" in written.read_text(encoding="utf-8")
    assert mode(written) == 0o600
    assert [mode(p) for p in (written.parent, letters)] == [0o700, 0o700]


def test_a_key_file_and_its_folder_are_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "privacy-key"
    stored_key(path)
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)


def test_tighten_restricts_an_existing_folder_and_leaves_links_alone(tmp_path: Path) -> None:
    root, outside = tmp_path / "var", tmp_path / "shared.txt"
    (root / "letters").mkdir(parents=True)
    (root / "letters" / "a.txt").write_text("x")
    outside.write_text("not ours")
    (root / "link.txt").symlink_to(outside)
    assert tighten(root) == 3  # var, letters, a.txt
    assert [mode(p) for p in (root, root / "letters", root / "letters" / "a.txt")] == [
        0o700,
        0o700,
        0o600,
    ]
    assert mode(outside) == 0o644 and tighten(root) == 0
