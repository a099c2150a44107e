"""The repository is self-contained: no file refers to a path outside it (a
folder beside the checkout, a design note that only its authors have, a
machine's own folders), and the paths and links the documents give exist."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# `../` climbing out of the repository from the file that says it.
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+[\w.-]*)")
# A machine's own folders: a checkout, a home directory.
MACHINE = re.compile(r"(?<![\w.~-])(/work/|/home/|/Users/|/root/|/mnt/|[A-Za-z]:\\Users\\)")
# A Markdown file named anywhere (a design note, a policy text, a doc page).
MARKDOWN = re.compile(r"(?<![\w.-])([\w-]+\.md)\b")
# A link of a Markdown document: [text](target).
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path into one of the repository's folders, as the documents write them.
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:shared|services|tousu|bench|deploy|tests|docs)/[\w./-]*[\w/])"
)


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored, as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    paths = [ROOT / name for name in listed if name]
    return [path for path in paths if path.is_file() and not path.is_symlink()]


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return  # not text (images, fonts)
    yield from enumerate(text.splitlines(), 1)


def where(path: Path, number: int) -> str:
    return f"{path.relative_to(ROOT)}:{number}"


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    files = repository_files()
    names = {path.name for path in files}
    outside = []
    for path in files:
        if path == Path(__file__).resolve():
            continue  # its patterns name what they look for
        for number, line in text_lines(path):
            for climb in CLIMB.finditer(line):
                if not (path.parent / climb.group(1)).resolve().is_relative_to(ROOT):
                    outside.append(f"{where(path, number)}: {climb.group(1)}")
            for machine in MACHINE.finditer(line):
                outside.append(f"{where(path, number)}: {machine.group(1)}")
            for markdown in MARKDOWN.finditer(line):
                if markdown.group(1) not in names:
                    outside.append(
                        f"{where(path, number)}: {markdown.group(1)} is not in the repository"
                    )
    assert outside == []


def documents() -> list[Path]:
    return [path for path in repository_files() if path.suffix == ".md"]


def test_every_link_of_the_documents_leads_to_a_file_of_the_repository() -> None:
    broken = []
    for path in documents():
        for number, line in text_lines(path):
            for link in LINK.finditer(line):
                target = link.group(1).split("#")[0]
                if not target or re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
                    continue  # an anchor, a URL, a route of the running system
                resolved = (path.parent / target).resolve()
                if not resolved.is_relative_to(ROOT) or not resolved.exists():
                    broken.append(f"{where(path, number)}: {link.group(1)}")
    assert broken == []


def test_every_path_the_documents_name_exists() -> None:
    # A module moved or removed leaves no stale pointer in README.md or docs/.
    stale: list[str] = []
    places: list[str] = []
    for path in documents():
        for number, line in text_lines(path):
            for named in REPO_PATH.finditer(line):
                if any(mark in named.group(1) for mark in "*<{"):
                    continue  # a pattern, not a path
                if not (ROOT / named.group(1)).exists():
                    stale.append(named.group(1))
                    places.append(f"{where(path, number)}: {named.group(1)}")
    # What the tests or the system write (tests/artifacts/...) is ignored by git.
    written = ignored_by_git(stale)
    assert [place for place in places if place.split(": ")[-1] not in written] == []


def ignored_by_git(paths: list[str]) -> set[str]:
    if not paths:
        return set()
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(paths),
        capture_output=True,
        text=True,
    )
    return set(checked.stdout.split())
