"""The cost per photo of keeping an attachment: re-encoding (EXIF gone),
the thumbnail, sealing and storing, against a baseline of reading and
hashing the same bytes, in the same run, interleaved (each round runs every
step once, in a shuffled order, so a slow moment of the machine falls on all
of them alike). docs/attachments.md gives the numbers.

    .venv/bin/python -m bench.attachment_cost [--rounds 30] [--megapixels 12]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from tests.attachment_files import photo_with_gps
from tousu.shared.attachments.checks import check, thumbnail
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.sealing import seal_blob
from tousu.shared.attachments.store import LocalStore, blob_name

KEY = bytes(32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--megapixels", type=float, default=12.0)
    args = parser.parse_args()
    width = int((args.megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    photo = photo_with_gps(width, height)
    limits = AttachmentLimits(max_bytes=64 << 20)
    kept = check(photo, "IMG.jpg", "photos", limits)
    with Image.open(io.BytesIO(kept.content)) as opened:
        opened.load()
        pixels = opened.copy()
    sha = hashlib.sha256(kept.content).hexdigest()
    folder = Path(tempfile.mkdtemp(prefix="tousu-attach-bench-"))
    store = LocalStore(folder)
    name = blob_name(None, sha)
    sealed = seal_blob(KEY, None, sha, name, kept.content)

    steps: dict[str, Callable[[], object]] = {
        "baseline: hash the bytes": lambda: hashlib.sha256(photo).hexdigest(),
        "check + re-encode + thumbnail": lambda: check(photo, "IMG.jpg", "photos", limits),
        "thumbnail alone": lambda: thumbnail(pixels, limits.thumbnail_px),
        "seal (AES-256-GCM)": lambda: seal_blob(KEY, None, sha, name, kept.content),
        "store (write, fsync, rename)": lambda: asyncio.run(store.put(name, sealed)),
    }
    times: dict[str, list[float]] = {label: [] for label in steps}
    order = list(steps)
    for _ in range(args.rounds):
        random.shuffle(order)
        for label in order:
            start = time.perf_counter()
            steps[label]()
            times[label].append(time.perf_counter() - start)
    print(
        f"photo {width}×{height} ({width * height / 1e6:.1f} MP), "
        f"{len(photo) / 1e6:.2f} MB sent, {len(kept.content) / 1e6:.2f} MB kept, "
        f"thumbnail {len(kept.thumbnail or b'') / 1e3:.1f} kB; {args.rounds} rounds"
    )
    print(f"{'step':32} {'median ms':>10} {'p90 ms':>8}")
    for label, samples in times.items():
        ordered = sorted(samples)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"{label:32} {statistics.median(samples) * 1e3:10.1f} {p90 * 1e3:8.1f}")


if __name__ == "__main__":
    main()
