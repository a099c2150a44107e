"""Where attachment bytes are kept: one small port, two backends.

A blob is named ``<owner>/<sha256>`` (or ``…/<sha256>.thumb``): the
complainant key it is sealed with and the hash of its plain content, so the
same photo sent twice by the same person is kept once. What is stored is
sealed (shared/attachments/sealing.py): neither backend ever sees plain bytes.

- :class:`LocalStore`, the default: ``<data_dir>/attachments/``, folders
  0700 and files 0600 like every private file of the data folder. A blob is
  written to a temporary file, flushed to disk, then renamed into place: a
  reader or a crash never finds half a file under its name.
- :class:`S3Store`, when ``TOUSU_ATTACHMENTS_S3_BUCKET`` is set: any
  S3-compatible service (boto3; a PUT is atomic there).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tousu.shared.private_files import FILE_MODE, private_dir
from tousu.shared.settings import Settings

NAME = re.compile(r"^[0-9a-z-]{1,40}/[0-9a-f]{64}(\.thumb)?$")


def blob_name(owner: object, sha256: str, *, thumbnail: bool = False) -> str:
    name = f"{owner or 'unowned'}/{sha256}{'.thumb' if thumbnail else ''}"
    if not NAME.fullmatch(name):
        raise ValueError(f"not a blob name: {name!r}")
    return name


@dataclass(frozen=True)
class Stored:
    name: str
    size: int
    modified_at: datetime


class BlobStore(Protocol):
    """Sealed blobs by name. ``put`` replaces a blob of the same name whole."""

    async def put(self, name: str, data: bytes) -> None: ...
    async def get(self, name: str) -> bytes | None: ...
    async def exists(self, name: str) -> bool: ...
    async def delete(self, name: str) -> None: ...
    def listing(self) -> AsyncIterator[Stored]: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not NAME.fullmatch(name):
            raise ValueError(f"not a blob name: {name!r}")
        owner, file = name.split("/")
        return self.root / owner / file[:2] / file

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(name), data)

    def _put(self, path: Path, data: bytes) -> None:
        folder = private_dir(path.parent)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def get(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    async def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    async def listing(self) -> AsyncIterator[Stored]:
        # The walk runs in a thread: the sweeper lists every tick, in the
        # metrics service's event loop, and a large data folder would stall it.
        for stored in await asyncio.to_thread(self._listing):
            yield stored

    def _listing(self) -> list[Stored]:
        if not self.root.is_dir():
            return []
        found: list[Stored] = []
        for owner in sorted(self.root.iterdir()):
            if not owner.is_dir():
                continue
            for path in sorted(owner.glob("??/*")):
                if path.name.startswith(".upload-"):
                    continue  # being written (or left by a crash: the sweep's age rule)
                st = path.stat()
                found.append(
                    Stored(
                        f"{owner.name}/{path.name}",
                        st.st_size,
                        datetime.fromtimestamp(st.st_mtime, UTC),
                    )
                )
        return found

    def leftovers(self) -> list[Path]:
        """Temporary files a crash left mid-write."""
        return sorted(self.root.glob("*/??/.upload-*")) if self.root.is_dir() else []


class S3Store:
    """Blobs as objects ``<prefix><name>`` of one bucket."""

    def __init__(self, client: Any, bucket: str, prefix: str = "attachments/") -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def for_settings(cls, settings: Settings) -> S3Store:
        import boto3  # type: ignore[import-untyped]  # loaded only with object storage

        section = settings.attachments
        assert section.s3_bucket is not None
        client = boto3.client(
            "s3",
            endpoint_url=section.s3_endpoint,
            region_name=section.s3_region,
            aws_access_key_id=section.s3_access_key,
            aws_secret_access_key=(
                section.s3_secret_key.get_secret_value() if section.s3_secret_key else None
            ),
        )
        return cls(client, section.s3_bucket, section.s3_prefix)

    def _key(self, name: str) -> str:
        if not NAME.fullmatch(name):
            raise ValueError(f"not a blob name: {name!r}")
        return self.prefix + name

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(
            self._client.put_object, Bucket=self.bucket, Key=self._key(name), Body=data
        )

    async def get(self, name: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            except self._client.exceptions.NoSuchKey:
                return None
            body: bytes = answer["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        def head() -> bool:
            try:
                self._client.head_object(Bucket=self.bucket, Key=self._key(name))
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
            return True

        return await asyncio.to_thread(head)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._key(name))

    async def listing(self) -> AsyncIterator[Stored]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        iterator = iter(pages)
        while True:
            page = await asyncio.to_thread(next, iterator, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(self.prefix)
                if NAME.fullmatch(name):
                    yield Stored(name, item["Size"], item["LastModified"])


def store_for(settings: Settings) -> BlobStore:
    """The deployment's store: object storage when a bucket is set, else the data folder."""
    if settings.attachments.s3_bucket:
        return S3Store.for_settings(settings)
    return LocalStore(settings.data_dir / "attachments")
