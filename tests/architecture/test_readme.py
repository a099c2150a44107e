"""README.md stays what a newcomer reads first: short, and its map of the
layout names every top-level folder, every service and every kind of test
that the repository has, and nothing it does not have."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def layout() -> list[str]:
    """The lines of the code block under README.md's "## Layout"."""
    section = README.read_text(encoding="utf-8").split("\n## Layout\n", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block, "README.md: the layout map (a code block under ## Layout) is missing"
    return block.group(1).splitlines()


def entries(indent: str) -> dict[str, str]:
    """Folder -> its text, for the map's lines that start with ``indent`` and a folder."""
    found = {}
    for line in layout():
        entry = re.match(rf"{indent}([\w.-]+)/\s", line)
        if entry:
            found[entry.group(1)] = line
    return found


def tracked_top_folders() -> set[str]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\n")
    return {name.split("/")[0] for name in names if "/" in name and not name.startswith(".")}


def packages(folder: Path) -> set[str]:
    return {child.name for child in folder.iterdir() if (child / "__init__.py").is_file()}


def test_the_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200


def test_the_layout_names_every_top_level_folder() -> None:
    assert set(entries("")) == tracked_top_folders()


def test_the_layout_names_every_service_in_a_line() -> None:
    assert set(entries("  ")) == packages(ROOT / "services")


def test_the_layout_names_every_kind_of_test() -> None:
    lines = layout()
    start = next(n for n, line in enumerate(lines) if line.startswith("tests/"))
    # The tests/ entry and the lines that continue it (indented, no folder of their own).
    text = " ".join(
        [lines[start]]
        + [line for line in lines[start + 1 :] if line.startswith(" ") and "/" not in line]
    )
    named = set(re.findall(r"[a-z0-9]+", text.removeprefix("tests/")))
    assert packages(ROOT / "tests") <= named


def test_the_commands_the_readme_gives_exist_with_their_options() -> None:
    import typer.main

    from tousu.cli import _load_commands, app

    _load_commands()
    root = typer.main.get_command(app)
    given = [
        line.split("#")[0].split("bin/tousu ", 1)[1].split()
        for line in README.read_text(encoding="utf-8").splitlines()
        if "bin/tousu " in line
    ]
    assert given, "README.md gives no tousu command"
    for words in given:
        command, rest = root, list(words)
        # Down the groups (users add, demo seed, ...); then arguments and options.
        while (sub := getattr(command, "commands", None)) is not None:
            assert rest and rest[0] in sub, f"tousu {' '.join(words)}: no such command"
            command, rest = sub[rest[0]], rest[1:]
        options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        assert "--help" not in rest
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"tousu {' '.join(words)}: no {word}"
