"""An install that works anywhere: the wheel built from this checkout, installed into a fresh
virtual environment in a temporary folder, runs `pipeline demo` end to end, its papers written
from the default templates it carries as package data."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KINDS = ("monitoring-summary", "risk-register", "survey-results")

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PIPELINE_HOME", "PYTHONPATH")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def clean_copy(folder: Path) -> Path:
    """The checkout's sources without what earlier builds left (build/, *.egg-info), which would
    otherwise let setuptools pick up files the package data does not declare."""
    leftovers = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "outbox",
                                       "inbox", "archive", "rejected", "bench", "tests", "docs")
    shutil.copytree(REPO, folder, ignore=leftovers)
    return folder


def fresh_environment(folder: Path) -> Path:
    """A new virtual environment that borrows this one's installed dependencies (a .pth line, so
    nothing is downloaded) but not the pipeline itself: that comes only from the wheel."""
    run([sys.executable, "-m", "venv", "--without-pip", str(folder)], cwd=folder.parent)
    python = folder / "bin" / "python"
    own_site = run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], folder).stdout
    borrowed = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (Path(own_site.strip()) / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    return python


def test_a_wheel_installed_outside_the_checkout_runs_the_demo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    source = clean_copy(tmp_path / "source")
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--quiet", "-w", str(wheels)],
        cwd=tmp_path)
    [wheel] = wheels.glob("*.whl")
    python = fresh_environment(tmp_path / "venv")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
         str(wheel)], cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run([str(python), "-c", "import pipeline; print(pipeline.__file__)"], elsewhere).stdout
    assert Path(where.strip()).is_relative_to(tmp_path / "venv"), where  # not this checkout's code

    home = tmp_path / "home"
    shown = run([str(tmp_path / "venv" / "bin" / "pipeline"), "demo", "--home", str(home)], elsewhere)
    assert "Done." in shown.stdout
    for kind in KINDS:
        assert list((home / "outbox" / "papers").glob(f"*/{kind}-*.docx")), (kind, shown.stdout)

    listing = run([str(tmp_path / "venv" / "bin" / "pipeline"), "templates", "--home", str(home)],
                  elsewhere).stdout
    rows = [line.split() for line in listing.splitlines() if line.startswith(("docx/", "html/"))]
    assert {row[0] for row in rows} >= {f"docx/{kind}.docx" for kind in KINDS}
    for name, source, path in rows:  # each from the package data inside the new environment
        assert source == "default" and Path(path).is_relative_to(tmp_path / "venv"), (name, path)
