"""docs/architecture.md's module map matches the code."""

from __future__ import annotations

from tests.architecture.module_map import DOC, FOLDERS, ROOT, module_map, with_map


def test_the_module_map_matches_the_code() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert with_map(document) == document, (
        f"{DOC.relative_to(ROOT)}: the module map is out of date; run `make module-map`"
    )


def test_the_map_names_every_module_once() -> None:
    rows = [line for line in module_map().splitlines() if line.startswith(("| `", "| **`"))]
    listed = [row.split("`")[1].rstrip("/") for row in rows]
    assert len(listed) == len(set(listed))
    for where in listed:
        assert (ROOT / where).exists(), where
    modules = {
        path.relative_to(ROOT).as_posix()
        for top in FOLDERS
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
        and path.name != "__init__.py"
        and not path.is_relative_to(ROOT / "tousu" / "shared")
        and not path.is_relative_to(ROOT / "tousu" / "services")
    }
    assert modules <= set(listed)
