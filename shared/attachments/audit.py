"""`tousu audit verify`'s look at the files: each one an event refers to is
stored and opens to the hash the event records. A file whose complainant was
erased cannot be opened by design: it is counted as erased, not as a problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.referenced import erased_owners, referenced
from tousu.shared.attachments.sealing import Unreadable
from tousu.shared.attachments.store import blob_name


@dataclass(frozen=True)
class FileProblem:
    stream_id: str
    name: str  # the file's name as sent
    blob: str  # where it should be
    reason: str


@dataclass
class FilesReport:
    verified: int = 0
    erased: int = 0
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


async def verify_files(attachments: Attachments) -> FilesReport:
    report = FilesReport()
    refs = [item async for item in referenced(attachments.keys)]
    owners = {ref.owner for _, ref in refs if ref.owner is not None}
    erased = await erased_owners(attachments.keys, owners)
    checked: set[str] = set()
    for stream_id, ref in refs:
        blob = blob_name(ref.owner, ref.sha256)
        if blob in checked:
            continue  # the same file named by two steps
        checked.add(blob)
        if ref.owner in erased:
            report.erased += 1
            continue
        try:
            await attachments.read(ref)
        except Unreadable as e:
            report.problems.append(FileProblem(stream_id, ref.name, blob, str(e)))
        else:
            report.verified += 1
    return report
