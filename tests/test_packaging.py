"""Problem 18: a non-editable install (``pip install .``) runs, from any folder.

The wheel is built from a copy of the sources (so nothing is written into the checkout),
installed without dependencies into a fresh virtual environment, which borrows the test
environment's libraries through a ``.pth`` line (offline, fast), and the console demo runs
from an unrelated folder. The installed code must come from the new environment, never from
the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import REPO

SOURCES = ("pyproject.toml", "README.md", "bot", "handlers", "storage", "templates",
           "checklists", "data")


def run(*args: str | Path, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "TUSOI_TELEGRAM_TOKEN", "VIRTUAL_ENV")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=180, check=False, env=env, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_problem_18_a_non_editable_install_runs_the_console_demo_elsewhere(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--wheel-dir", wheels, source, cwd=tmp_path)
    (wheel,) = wheels.glob("tusoi-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                       cwd=tmp_path).stdout.strip())
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel, cwd=tmp_path)
    # The libraries (telegram, docxtpl…) come from the test environment; its
    # editable tusoi is not seen, because a .pth line adds a folder without reading its .pth.
    (purelib / "borrowed-libraries.pth").write_text(sysconfig.get_path("purelib") + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import bot, bot.config as c; print(bot.__file__); print(c.ROOT)",
                cwd=elsewhere).stdout.splitlines()
    assert where[0].startswith(str(purelib)) and where[1] == str(purelib / "tusoi_data"), where
    demo = run(venv / "bin" / "tusoi", "console", cwd=elsewhere, input="1\n2\nnguyên văn\n")
    assert "Nguyễn Văn Mẫu" in demo.stdout and "Tự soi 2/27" in demo.stdout, demo.stdout
    assert (elsewhere / "tusoi-demo.sqlite3").is_file()
    check = run(venv / "bin" / "tusoi", "checklist", "check",
                purelib / "tusoi_data" / "checklists" / "nq04-2016.toml", cwd=elsewhere)
    assert "hợp lệ" in check.stdout
