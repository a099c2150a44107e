"""`tousu import` refusing a file or a mapping before it starts, as an
administrator reads it in a terminal or a log: the reason alone on stderr (no
empty progress bar, no blank line before it) and a failing exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tousu.cli import _load_commands, app

_load_commands()  # every command, as the `tousu` script has them

DOC = Path(__file__).parents[2] / "docs" / "import.md"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """docs/import.md's mapping, and its sample export with the column 满意度 renamed."""
    doc = DOC.read_text(encoding="utf-8")
    mapping = re.search(r"```yaml\n(# mapping\.yaml\n.*?)```", doc, re.S)
    sample = re.search(r"```csv\n(.*?)```", doc, re.S)
    assert mapping and sample
    (tmp_path / "mapping.yaml").write_text(mapping.group(1), encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text(sample.group(1).replace(",满意度\n", ",满意程度\n", 1), encoding="utf-8")
    return export, tmp_path / "mapping.yaml"


def env(tmp_path: Path) -> dict[str, str]:
    # Configured, never reached: the file is refused before any connection.
    return {
        "TOUSU_DATA_DIR": str(tmp_path / "var"),
        "TOUSU_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
    }


def test_a_missing_column_is_said_alone_and_fails(files: tuple[Path, Path], tmp_path: Path) -> None:
    export, mapping = files
    args = ["import", str(export), "--mapping", str(mapping), "--as", "admin-he"]
    result = CliRunner().invoke(app, args, env=env(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == f"{export}: the file has no column '满意度'\n"
    assert result.stdout == ""


def test_a_missing_mapping_file_is_a_usage_error(files: tuple[Path, Path], tmp_path: Path) -> None:
    export, _ = files
    args = ["import", str(export), "--mapping", str(tmp_path / "nope.yaml"), "--as", "admin-he"]
    result = CliRunner().invoke(app, args, env=env(tmp_path))
    assert result.exit_code == 2
    # Rich's error box wraps a long path at any width: read it unwrapped.
    said = re.sub(r"[\s│]", "", result.stderr)
    assert "nope.yaml" in said and "doesnotexist" in said
