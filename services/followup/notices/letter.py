"""Letter notices: a printable document per letter, filed by the day it was written.

``<letters_dir>/<yyyy-mm-dd>/<tracking_no>-<kind>.txt``, plain UTF-8 text laid
out as a Chinese letter with the address block, for staff to print and post
each day. (PDF comes later.)
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from tousu.services.followup.notices.model import Notification
from tousu.services.followup.notices.sender import SendError
from tousu.shared.events import utcnow
from tousu.shared.private_files import private_dir, private_file

SHANGHAI = ZoneInfo("Asia/Shanghai")
WIDTH = 40  # in full-width characters: a line of an A4 page
_SALUTED = re.compile(r"^(您好：|尊敬的.{1,40}：|Dear .{1,80},)$")
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]")


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _unsaluted(body: str) -> str:
    """The body without its own salutation line (您好：, 尊敬的王芳：): the
    letter sets one, from the recipient's name, so it never has two."""
    first, _, rest = body.partition("\n")
    return rest if _SALUTED.match(first.strip()) else body


def render_letter(n: Notification, organisation: str, day: date) -> str:
    address = [line.strip() for line in (n.recipient or "").splitlines() if line.strip()]
    addressee = f"{n.recipient_name} 收" if n.recipient_name else "收件人 收"
    salutation = f"尊敬的{n.recipient_name}：" if n.recipient_name else "尊敬的投诉人："
    indent = "　" * (WIDTH // 2)  # the sender's block sits on the right half
    lines = [
        *address,
        addressee,
        "",
        "",
        n.title.center(WIDTH, "　").rstrip("　"),
        "",
        f"投诉编号：{n.tracking_no}",
        "",
        salutation,
        *(f"　　{p.strip()}" if p.strip() else "" for p in _unsaluted(n.body).splitlines()),
        "",
        "",
        f"{indent}{organisation}",
        f"{indent}{chinese_date(day)}",
        "",
        # Lets a reprint (a retried send) be matched to the same notice.
        f"通知编号：{n.id}",
    ]
    return "\n".join(lines) + "\n"


class LetterSender:
    def __init__(self, letters_dir: Path, organisation: str = "投诉受理中心") -> None:
        self.letters_dir = letters_dir
        self.organisation = organisation

    async def send(self, n: Notification) -> str:
        if not n.recipient:
            raise SendError("a letter needs a postal address", retryable=False)
        day = utcnow().astimezone(SHANGHAI).date()
        text = render_letter(n.sendable(), self.organisation, day)
        try:
            path = await asyncio.to_thread(self._write, n, day, text)
        except OSError as exc:  # a full or unmounted disk may come back
            raise SendError(f"cannot write the letter: {exc}", retryable=True) from exc
        return str(path.relative_to(self.letters_dir))

    def _write(self, n: Notification, day: date, text: str) -> Path:
        # Names and postal addresses: the owner's only (docs/personal-data.md).
        folder = private_dir(self.letters_dir / day.isoformat())
        stem = f"{_UNSAFE.sub('_', n.tracking_no)}-{n.kind}"
        path = folder / f"{stem}.txt"
        # Written whole or not at all: a half-written letter must not be printed.
        partial = folder / f".{stem}.{uuid.uuid4().hex}.tmp"
        private_file(partial, text.encode("utf-8"))
        try:
            # A hard link claims the plain name atomically: two notices of
            # one kind sent at once (two progress reports) cannot both win it.
            os.link(partial, path)
        except FileExistsError:
            # The same notice again (a retry) overwrites its own file, so it
            # is printed once; another notice gets its id in the name.
            if str(n.id) not in path.read_text(encoding="utf-8"):
                path = folder / f"{stem}-{str(n.id)[:8]}.txt"
            partial.replace(path)
        else:
            partial.unlink()
        return path
