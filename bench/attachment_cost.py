"""The cost per photo of keeping an attachment: re-encoding (EXIF gone),
the thumbnail, sealing and storing, against a baseline of reading and
hashing the same bytes, in the same run, interleaved (each round runs every
step once, in a shuffled order, so a slow moment of the machine falls on all
of them alike). docs/attachments.md gives the numbers.

    tousu bench attachments [--quick]
    .venv/bin/python -m bench.attachment_cost [--rounds 30] [--megapixels 12]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from tests.attachment_files import photo_with_gps
from tousu.shared.attachments.checks import check, thumbnail
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.sealing import seal_blob
from tousu.shared.attachments.store import LocalStore, blob_name

KEY = bytes(32)
BASELINE = "baseline: hash the bytes"


def run_attachment_bench(rounds: int = 30, megapixels: float = 12.0) -> dict[str, Any]:
    """Every step ``rounds`` times on one photo of ``megapixels``, interleaved;
    the medians and p90s in ms, and each step's ratio to the baseline."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
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
        BASELINE: lambda: hashlib.sha256(photo).hexdigest(),
        "check + re-encode + thumbnail": lambda: check(photo, "IMG.jpg", "photos", limits),
        "thumbnail alone": lambda: thumbnail(pixels, limits.thumbnail_px),
        "seal (AES-256-GCM)": lambda: seal_blob(KEY, None, sha, name, kept.content),
        "store (write, fsync, rename)": lambda: asyncio.run(store.put(name, sealed)),
    }
    times: dict[str, list[float]] = {label: [] for label in steps}
    order = list(steps)
    try:
        for _ in range(rounds):
            random.shuffle(order)
            for label in order:
                start = time.perf_counter()
                steps[label]()
                times[label].append(time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = statistics.median(times[BASELINE])
    out: dict[str, Any] = {
        "photo": {
            "width": width,
            "height": height,
            "megapixels": round(width * height / 1e6, 1),
            "bytes_sent": len(photo),
            "bytes_kept": len(kept.content),
            "thumbnail_bytes": len(kept.thumbnail or b""),
        },
        "rounds": rounds,
        "steps": {},
    }
    for label, samples in times.items():
        ordered = sorted(samples)
        median = statistics.median(samples)
        out["steps"][label] = {
            "median_ms": round(median * 1e3, 2),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e3, 2),
            "x_baseline": round(median / base, 1) if base else None,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--megapixels", type=float, default=12.0)
    args = parser.parse_args()
    print(json.dumps(run_attachment_bench(args.rounds, args.megapixels), indent=2))


if __name__ == "__main__":
    main()
