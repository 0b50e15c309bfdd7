"""Lint, format and types, run as tests so that `make test` (and CI) enforces them.

The rules live in pyproject.toml: ruff (lint and format) over the whole tree, mypy strict on the
chip model (golden/) and the host-RTL contract (contract/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_complain_about():
    out = run("ruff", "check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_the_code_is_formatted_as_ruff_formats_it():
    out = run("ruff", "format", "--check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_mypy_strict_passes_on_golden_and_the_contract():
    out = run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "Success" in out.stdout
