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
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikesniff import privileges

REPO = Path(__file__).resolve().parents[1]
WALK = REPO / "tools" / "preload_walk.py"
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                    ".hypothesis")
DEV_TOOLS = shutil.ignore_patterns("__pycache__", "__editable__*", "ikesniff-*.dist-info", "mypy", "mypyc", "*mypyc*",
                                   "ruff", "ruff-*", "pip", "pip-*")
"""What the clone's venv leaves out of this venv: the editable install of this checkout, and the linters."""
CLONE_TESTS = ["tests/test_capture_live.py", "tests/test_privileges_preload.py"]
STARTED_AS_NOBODY = "not without_permission and not no_op_when_not_root"
"""Three tests of test_capture_live.py start ikesniff as nobody from the start (setpriv), to see what an
unprivileged user is told: in a private clone nobody cannot even read the program, so they cannot pass
there as written (they could run as root without capabilities instead: setpriv --bounding-set=-all)."""


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


@pytest.fixture
def private_clone() -> Iterator[Path]:
    """This checkout and a venv with its packages, in a directory only root may enter (0700), as root's
    own clone under /root is: after the drop, neither the code nor the venv can be read."""
    directory = Path(tempfile.mkdtemp(prefix="ikesniff-private-"))
    try:
        assert os.stat(directory).st_mode & 0o777 == 0o700
        clone = directory / "ikesniff"
        shutil.copytree(REPO, clone, ignore=NOT_COPIED)
        venv = clone / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        site = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
        shutil.copytree(sysconfig.get_path("purelib"), site, ignore=DEV_TOOLS, dirs_exist_ok=True, symlinks=True)
        (site / "ikesniff-checkout.pth").write_text(f"{clone}\n", encoding="utf-8")
        script = venv / "bin" / "ikesniff"             # the console script, as pip writes it
        script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom ikesniff.cli import main\n"
                          "sys.exit(main())\n", encoding="utf-8")
        script.chmod(0o755)
        yield clone
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to nobody needs root")
@pytest.mark.skipif(os.environ.get("IKESNIFF_PRIVATE_CLONE") == "1", reason="already in the private clone")
def test_privilege_drop_tests_pass_in_a_clone_under_a_0700_directory(private_clone: Path) -> None:
    python = private_clone / ".venv" / "bin" / "python"
    located = subprocess.run([str(python), "-c", "import ikesniff, numpy; print(ikesniff.__file__, numpy.__file__)"],
                             check=False, capture_output=True, text=True, timeout=60, cwd="/")
    assert located.returncode == 0, located.stderr
    assert all(Path(path).is_relative_to(private_clone) for path in located.stdout.split()), located.stdout
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", STARTED_AS_NOBODY,
                             *CLONE_TESTS],
                            check=False, capture_output=True, text=True, timeout=900, cwd=private_clone,
                            env={**os.environ, "IKESNIFF_PRIVATE_CLONE": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
