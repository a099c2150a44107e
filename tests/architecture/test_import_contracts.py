"""The import contracts (.importlinter) that `make test` checks with lint-imports:
they hold for the code, and a new upward import breaks them — a real run of
the same tool and contracts over a copy of the package with one import planted."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts() -> dict[str, configparser.SectionProxy]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {key.removeprefix(prefix): parser[key] for key in parser if key.startswith(prefix)}


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    # Wide lines: the report names each contract on one line, KEPT or BROKEN.
    env = {**os.environ, "PYTHONPATH": str(where), "COLUMNS": "1000"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdicts(report: str) -> dict[str, str]:
    """Each contract's id -> KEPT or BROKEN, from lint-imports' report."""
    found = {}
    for key, section in contracts().items():
        for word in ("KEPT", "BROKEN"):
            if f"{section['name']} {word}" in report:
                found[key] = word
    return found


def test_the_code_keeps_every_contract() -> None:
    checked = lint_imports(ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert set(verdicts(checked.stdout).values()) == {"KEPT"}
    assert set(verdicts(checked.stdout)) == set(contracts())


# (file of the copy, the import planted at its end, the contract it breaks)
PLANTED = [
    ("shared/naming.py", "import tousu.services.metrics.main", "layers"),
    ("shared/domain/decide.py", "import asyncpg", "domain-is-pure"),
    ("shared/events/__init__.py", "import tousu.shared.store", "domain-is-pure"),
    (
        "services/routing/main.py",
        "import tousu.services.metrics.projections",
        "services-independent",
    ),
    ("tousu/supervisor.py", "import tousu.cli", "cli-is-an-entry-point"),
]


@pytest.mark.parametrize(("path", "planted", "broken"), PLANTED)
def test_a_new_upward_import_breaks_its_contract(
    tmp_path: Path, path: str, planted: str, broken: str
) -> None:
    for name in ("tousu", "shared", "services"):
        junk = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / name, tmp_path / name, symlinks=True, ignore=junk)
    shutil.copy2(CONFIG, tmp_path / CONFIG.name)
    with (tmp_path / path).open("a") as module:
        module.write(f"\n{planted}  # planted by the test\n")

    checked = lint_imports(tmp_path)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    found = verdicts(checked.stdout)
    assert found[broken] == "BROKEN", checked.stdout
    assert planted.split()[-1] in checked.stdout
