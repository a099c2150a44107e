"""`tousu credentials show` says when a credential was issued as a person
reads it (Beijing time to the minute), not as the token's Unix seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tousu.cli import _load_commands, app

_load_commands()  # every command, as the `tousu` script has them


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.delenv("TOUSU_CREDENTIAL_KEY", raising=False)
    monkeypatch.delenv("TOUSU_CREDENTIAL_REVOKED", raising=False)
    yield {"TOUSU_DATA_DIR": str(tmp_path / "var")}


def test_show_gives_the_issue_time_in_beijing_time(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    issued = runner.invoke(app, ["credentials", "issue", "department", "water"], env=cli_env)
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.splitlines()[-1]
    shown = runner.invoke(app, ["credentials", "show", token], env=cli_env)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("department water id ")
    # e.g. "(issued 2026-12-07 19:02+08:00)"
    assert shown.stdout.rstrip().endswith("+08:00)"), shown.stdout
    assert "issued 20" in shown.stdout and "issued at 1" not in shown.stdout
