"""The code stays as STYLE.md asks: ruff clean everywhere, mypy --strict on the application and the dissectors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command", [
    ["ruff", "check", "dissectors", "ikesniff", "tests", "lab", "bench"],
    ["mypy", "--strict", "ikesniff", "dissectors"],
], ids=["ruff", "mypy-strict"])
def test_static_checks_pass(command: list[str]) -> None:
    tool = BIN / command[0] if (BIN / command[0]).exists() else shutil.which(command[0])
    assert tool, f"{command[0]} is not installed (make setup installs it)"
    result = subprocess.run([str(tool), *command[1:]], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
