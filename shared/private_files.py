"""Files under the data folder are the owner's alone.

Letters carry names and postal addresses, the key files open every sealed
field, logs name tracking numbers: nothing tousu writes there is for other
users of the machine. Every tousu process starts with an owner-only umask
(:func:`owner_only_umask`), and the writers of personal files also set the
modes themselves (:func:`private_dir`, :func:`private_file`), so a library
caller or a test with another umask gets the same. :func:`tighten` brings
an existing data folder (from a version without this) to the same modes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def owner_only_umask() -> None:
    """From now on, files and folders this process makes are its owner's only."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a folder (made with its parents if missing), mode 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for made in missing:  # mkdir's mode is masked by the umask, and parents get the default
        os.chmod(made, DIR_MODE)
    return path


def private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path``, mode 0600 from the start
    (never readable by others, not even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def tighten(root: Path) -> int:
    """Folders under ``root`` to 0700 and files to 0600; how many were changed.

    Symbolic links are neither followed nor changed: what they point to may
    belong to someone else (a mounted letters share, say)."""
    if not root.is_dir():
        return 0
    changed = 0
    for folder, dirs, files in os.walk(root):
        for name, mode in [
            (folder, DIR_MODE),
            *((os.path.join(folder, f), FILE_MODE) for f in files),
        ]:
            st = os.lstat(name)
            if stat.S_ISLNK(st.st_mode) or not (
                stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)
            ):
                continue
            if stat.S_IMODE(st.st_mode) & ~mode:
                try:
                    os.chmod(name, stat.S_IMODE(st.st_mode) & mode)
                except PermissionError:
                    continue  # another user's file (a shared mount): not ours to change
                changed += 1
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return changed
