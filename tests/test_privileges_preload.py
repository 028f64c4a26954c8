"""After the privilege drop nothing is imported or read from the installation (ikesniff/privileges.py).

`tools/preload_walk.py` loads what `preload_code` loads before the drop, then runs everything that runs
after it (every capture in pcaps/ with keys and PSKs, text, -v, JSON Lines, the three reports, redaction,
-w, a stream, the live board, a live capture on lo as root) while a meta-path finder and an audit hook
note every new import and every file opened under the installation. Any of them is a module that the
dropped process may not be able to read (numpy.ma, as `sudo ikesniff -i eth0` from a private home found).
As root, the walk also runs after a real drop to nobody: here Python itself lives under /root (0700).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ikesniff import privileges

REPO = Path(__file__).resolve().parents[1]
WALK = REPO / "tools" / "preload_walk.py"


def walk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(WALK), *args], check=False, capture_output=True, text=True,
                          timeout=600, cwd=REPO)


@pytest.mark.slow
def test_after_the_preload_every_analysis_imports_and_reads_nothing_from_the_installation() -> None:
    result = walk("--check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), (
        "run .venv/bin/python tools/preload_walk.py --write to update ikesniff/data/preload_modules.txt\n"
        + result.stdout[-3000:] + result.stderr[-3000:])


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to nobody needs root")
def test_after_a_real_drop_to_nobody_every_analysis_runs_and_loads_nothing() -> None:
    result = walk("--check", "--drop", "nobody")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), \
        result.stdout[-3000:] + result.stderr[-3000:]


def test_the_walk_notices_a_late_import_and_a_read_from_the_installation() -> None:
    # the guard itself, on a module nothing has imported yet and a file of the standard library
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "tools")!r})
        import preload_walk
        assert "colorsys" not in sys.modules
        recorder = preload_walk.Recorder(preload_walk.install_roots())
        sys.meta_path.insert(0, recorder)
        sys.addaudithook(recorder.audit)
        recorder.active = True
        import colorsys
        open(colorsys.__file__, "rb").close()
        recorder.active = False
        import wave
        print(recorder.modules, len(recorder.files))
    """)
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    modules, files = result.stdout.split()
    assert modules == "['colorsys']" and int(files) >= 1   # its source (and .pyc) read, then opened again


def test_every_listed_module_exists_in_this_installation() -> None:
    names = privileges.preload_list()
    assert names and all(name == name.strip() and " " not in name for name in names)
    code = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", code, *names], check=False, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
