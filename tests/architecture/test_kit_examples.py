"""The adapter kit's examples use the kit alone: an outside author can copy
them with tousu.kit and the shipped schemas, and nothing else of tousu."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add("." * node.level + node.module)
    return out


def internals(path: Path) -> list[str]:
    """What ``path`` imports of tousu other than the kit (or relatively)."""
    return sorted(
        m
        for m in imported(path)
        if m.startswith(".")
        or m.split(".")[0] in ("shared", "services")
        or (m.split(".")[0] == "tousu" and m != "tousu.kit" and not m.startswith("tousu.kit."))
    )


def test_the_examples_import_nothing_of_tousu_but_the_kit() -> None:
    assert {p.name for p in EXAMPLES} >= {"channel_adapter.py", "department_system.py"}
    for path in EXAMPLES:
        assert any(m.startswith("tousu.kit") for m in imported(path)), path.name
        assert internals(path) == [], path.name


def test_the_check_sees_an_import_of_tousu_internals(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    example.write_text(
        "from tousu.kit import ChannelClient\n"
        "from tousu.shared.events import Actor\n"
        "import tousu.services.intake\n"
        "from tousu import kit_helpers\n",
        encoding="utf-8",
    )
    assert internals(example) == ["tousu", "tousu.services.intake", "tousu.shared.events"]
