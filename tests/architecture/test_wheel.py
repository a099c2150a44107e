"""What `pip install .` puts into site-packages: one top-level package, `tousu`,
with its data files, and a command line that works without the source checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a build reads: the project file, the readme it names, the package folder
# and the two folders that tousu/shared and tousu/services link to.
BUILD_INPUTS = ("pyproject.toml", "README.md", "tousu", "shared", "services")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the build reads, so that the build's own folders (build/,
    *.egg-info) never land in the shared checkout."""
    copy = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, copy / name, symlinks=True, ignore=JUNK)
        else:
            shutil.copy2(path, copy / name)
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("tousu-*.whl")
    return built


def names_in(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_has_one_top_level_package(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in names_in(wheel)}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert len(dist_info) == 1, tops
    assert tops - dist_info == {"tousu"}
    # And the installer is told the same (top_level.txt lists import names).
    (info,) = dist_info
    with zipfile.ZipFile(wheel) as archive:
        top_level = archive.read(f"{info}/top_level.txt").decode().split()
    assert top_level == ["tousu"]


def test_the_wheel_holds_every_file_of_the_package_folders(source: Path, wheel: Path) -> None:
    # Every file under tousu/ (shared/ and services/ through their links):
    # modules, migrations, YAML data, templates (staff/ too), static files,
    # message catalogues. A data file the package data misses is listed here.
    expected = {
        Path(folder, name).relative_to(source).as_posix()
        for folder, dirs, files in os.walk(source / "tousu", followlinks=True)
        if "__pycache__" not in Path(folder).parts
        for name in files
    }
    kinds = {Path(name).suffix for name in expected}
    assert {".py", ".sql", ".yaml", ".html", ".css", ".po", ".cfg", ".json"} <= kinds
    assert any("/templates/staff/" in name for name in expected)
    # The message schemas an adapter validates against (tousu schemas export).
    assert "tousu/kit/schemas/index.json" in expected
    assert "tousu/kit/schemas/cmd.intake.submit.schema.json" in expected
    assert sorted(expected - names_in(wheel)) == []


def test_the_installed_command_line_works_without_bench(wheel: Path, tmp_path: Path) -> None:
    """A fresh virtualenv gets the wheel (no checkout on its path); the
    dependencies come from this environment's site-packages, appended to the
    fresh one's path, so that the test takes seconds, not a full install."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = ["install", "--quiet", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *install],
        check=True,
        capture_output=True,
        timeout=120,
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A plain path: the .pth files over there (this checkout's editable
    # install among them) are not run, so `tousu` is the wheel's.
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    where = run(str(python), "-c", "import tousu; print(tousu.__file__)")
    assert where.stdout.strip().startswith(site), where
    assert run(str(python), "-c", "import bench").returncode != 0

    tousu = str(venv / "bin" / "tousu")
    helped = run(tousu, "--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("up", "bench", "chaos"):
        assert f" {command} " in helped.stdout
    for command in ("bench", "chaos"):
        refused = run(tousu, command, "--quick")
        assert refused.returncode == 2, refused
        assert "source checkout" in refused.stderr
        assert "Traceback" not in refused.stderr
