"""The README's quick start from the wheel, as a user gets it: not the editable install of the checkout.

The sdist and the wheel are built with `python -m build` from a copy of the checkout (the wheel is
built from the unpacked sdist, so both are tested), the wheel is installed with its dependencies into a
fresh venv, and the commands run from there, in a directory away from the checkout so that nothing
is imported from it. The dependencies come from the package index (pip's cache keeps it to seconds).

The man page is written from the click definitions by tools/manpage.py; a page that no longer says
what the command line does fails `test_man_page_is_current`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import ikesniff

REPO = Path(__file__).resolve().parents[1]
DEMO_PCAP = REPO / "pcaps" / "ikev2-psk.pcap"
NOT_COPIED_NAMES = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                          ".hypothesis")
NOT_COPIED_PATHS = {REPO / "bench" / "out", REPO / "lab" / "run"}
VERSION = ikesniff.__version__


def shipped_files() -> list[str]:
    """Every module of the packages and every data file, as paths relative to the checkout."""
    files = [path for package in ("ikesniff", "dissectors") for path in (REPO / package).rglob("*.py")]
    files += [path for path in (REPO / "ikesniff" / "data").rglob("*") if path.is_file()]
    return sorted(str(path.relative_to(REPO)) for path in files if "__pycache__" not in path.parts)


def not_copied(directory: str, names: list[str]) -> set[str]:
    """Work files of the checkout (venv, caches, build and lab output): never part of a build."""
    return set(NOT_COPIED_NAMES(directory, names)) | {name for name in names
                                                      if Path(directory, name) in NOT_COPIED_PATHS}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and wheel of a copy of the checkout."""
    root = tmp_path_factory.mktemp("build")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=not_copied)
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(source)],
                            check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # setuptools' warnings (a package left out of the wheel, say), as `build` shows them
    warnings = re.findall(r"(?m)^\s*WARNING\b.*|\w+Warning\b.*", result.stdout + result.stderr)
    assert not warnings, warnings
    wheel, = (root / "dist").glob("*.whl")
    sdist, = (root / "dist").glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed (not editable) and its dependencies."""
    directory = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=300)
    result = subprocess.run([str(directory / "bin" / "python"), "-m", "pip", "install", "-q",
                             "--disable-pip-version-check", str(built["wheel"])],
                            check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    yield directory


def run(venv: Path, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command of the venv, run in the venv's directory (away from the checkout) with the venv first
    on PATH, as after `source venv/bin/activate`."""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    environment.update(env or {})
    program = str(venv / "bin" / command[0]) if (venv / "bin" / command[0]).exists() else command[0]
    return subprocess.run([program, *command[1:]], check=False, capture_output=True, text=True, timeout=120,
                          cwd=venv, env=environment)


def test_one_version_source() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]


@pytest.mark.slow
def test_wheel_and_sdist_carry_every_module_and_data_file(built: dict[str, Path]) -> None:
    assert built["wheel"].name == f"ikesniff-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(built["wheel"]) as wheel:
        in_wheel = set(wheel.namelist())
    missing = [path for path in shipped_files() if path not in in_wheel]
    assert not missing, f"not in the wheel: {missing}"
    assert f"ikesniff-{VERSION}.data/data/share/man/man1/ikesniff.1" in in_wheel
    assert not [name for name in in_wheel if name.startswith(("tests/", "lab/", "bench/", "tools/"))]
    with tarfile.open(built["sdist"]) as sdist:
        in_sdist = {name.partition("/")[2] for name in sdist.getnames()}
    missing = [path for path in [*shipped_files(), "pyproject.toml", "README.md", "man/ikesniff.1"]
               if path not in in_sdist]
    assert not missing, f"not in the sdist: {missing}"


@pytest.mark.slow
def test_readme_quick_start_from_the_installed_wheel(venv: Path) -> None:
    located = run(venv, "python", "-c", "import ikesniff, importlib.metadata as m; "
                                        "print(ikesniff.__file__); print(m.version('ikesniff'))")
    assert located.returncode == 0, located.stderr
    module_file, installed_version = located.stdout.split()
    assert Path(module_file).is_relative_to(venv) and installed_version == VERSION

    preload = run(venv, "python", "-c", "from ikesniff import privileges; privileges.preload_code(); "
                                        "print(len(privileges.preload_list()))")
    assert preload.returncode == 0 and int(preload.stdout) > 0, preload.stderr   # the list is in the wheel

    version = run(venv, "ikesniff", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"ikesniff, version {VERSION}"), version.stderr
    module_version = run(venv, "python", "-m", "ikesniff", "--version")
    assert (module_version.returncode, module_version.stdout) == (0, version.stdout), module_version.stderr

    verdicts = run(venv, "ikesniff", "-r", str(DEMO_PCAP), "-q")
    assert verdicts.returncode == 0, verdicts.stderr
    assert "192.0.2.1 <-> 192.0.2.2: ESTABLISHED" in verdicts.stdout + verdicts.stderr
    assert "Traceback" not in verdicts.stderr

    causes = run(venv, "ikesniff", "causes")
    assert causes.returncode == 0, causes.stderr
    assert "PskMismatch" in causes.stdout

    logs = [str(REPO / "pcaps" / f"ikev2-psk-mismatch.{host}.charon.log") for host in ("moon", "sun")]
    explained = run(venv, "ikesniff", "explain", *logs)
    assert explained.returncode in (0, 1) and "PskMismatch" in explained.stdout, explained.stderr

    no_input = run(venv, "ikesniff")
    assert no_input.returncode == 2 and no_input.stderr.startswith("ikesniff: "), no_input.stderr


@pytest.mark.slow
def test_installed_man_page_and_shell_completion(venv: Path) -> None:
    page = venv / "share" / "man" / "man1" / "ikesniff.1"
    assert page.read_text(encoding="utf-8") == (REPO / "man" / "ikesniff.1").read_text(encoding="utf-8")
    if shutil.which("man"):                    # man-db finds a page in ../share/man of a PATH entry
        found = run(venv, "man", "-w", "ikesniff")
        assert (found.returncode, found.stdout.strip()) == (0, str(page)), found.stderr

    for shell, marker in (("bash", "complete -o nosort -F"), ("zsh", "compdef"), ("fish", "complete")):
        script = run(venv, "ikesniff", env={"_IKESNIFF_COMPLETE": f"{shell}_source"})
        assert script.returncode == 0 and marker in script.stdout, (shell, script.stdout, script.stderr)
    completed = run(venv, "ikesniff", env={"_IKESNIFF_COMPLETE": "bash_complete",
                                           "COMP_WORDS": "ikesniff --ke", "COMP_CWORD": "1"})
    assert completed.returncode == 0 and "plain,--keys" in completed.stdout.split(), completed.stdout


def test_man_page_is_current() -> None:
    result = subprocess.run([sys.executable, str(REPO / "tools" / "manpage.py"), "--check"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if shutil.which("groff"):
        checked = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(REPO / "man" / "ikesniff.1")],
                                 check=False, capture_output=True, text=True, timeout=60)
        assert (checked.returncode, checked.stderr) == (0, "")
