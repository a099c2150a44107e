"""The limits an upload is checked against (settings TOUSU_ATTACHMENTS_*)."""

from __future__ import annotations

from dataclasses import dataclass

from tousu.shared.settings import AttachmentsSection


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int = 10 << 20
    max_files: int = 5
    max_pixels: int = 40_000_000
    max_unpacked_bytes: int = 100 << 20
    max_zip_ratio: int = 100
    max_zip_entries: int = 2_000
    thumbnail_px: int = 320

    @classmethod
    def of(cls, section: AttachmentsSection) -> AttachmentLimits:
        return cls(
            max_bytes=section.max_bytes,
            max_files=section.max_files,
            max_pixels=section.max_pixels,
            max_unpacked_bytes=section.max_unpacked_bytes,
            max_zip_ratio=section.max_zip_ratio,
            max_zip_entries=section.max_zip_entries,
            thumbnail_px=section.thumbnail_px,
        )
