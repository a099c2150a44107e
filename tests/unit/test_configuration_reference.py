"""docs/configuration.md is what the settings say about themselves: every setting
has a description, and the file is what `tousu settings reference` writes now."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tousu.cli import app
from tousu.cli.settings_cmds import reference
from tousu.shared.privacy.crypto import MASTER_KEY_ENV
from tousu.shared.settings import Settings, env_names, setting_fields

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
REGENERATE = "tousu settings reference --output docs/configuration.md"


def test_every_setting_and_section_has_a_description() -> None:
    undocumented = [
        variable for _, variable, field in setting_fields() if not (field.description or "").strip()
    ]
    assert not undocumented, f"settings without a description: {undocumented}"
    sections = {section for section, _, _ in setting_fields() if section is not None}
    assert sections
    assert all((Settings.model_fields[name].description or "").strip() for name in sections)


def test_docs_configuration_is_what_the_generator_writes() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference(), f"run `{REGENERATE}`"


def test_the_reference_names_every_variable_once() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for variable in env_names():
        assert text.count(f"| `{variable}` |") == 1, variable
    # Missing from the hand-written table this reference replaced.
    for variable in (
        "TOUSU_STREAM_REPLICAS",
        "TOUSU_METRICS_PORT",
        "TOUSU_RELAY_STANDBY_RETRY",
        "TOUSU_STORE_IDLE_RECHECK",
    ):
        assert f"| `{variable}` |" in text
    # Read by the privacy module itself, but documented with the rest.
    assert MASTER_KEY_ENV in env_names()


def test_the_command_prints_and_writes_the_reference(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["settings", "reference"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == reference()
    target = tmp_path / "configuration.md"
    written = runner.invoke(app, ["settings", "reference", "--output", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == reference()
