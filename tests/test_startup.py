"""What a plain run loads (issue 14: the start is part of every run's time).

`ikesniff -r FILE --json` without keys, logs, configurations or a report never uses the gateway-log and
configuration readers, the decryption and PSK modules, the X.509 library, rich or the report package: they are
imported where first used. And numpy's OpenBLAS is asked for one thread (its spinning threads cost CPU for
nothing). Each case runs the command line in a fresh interpreter and reads what it had loaded at its exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO / "pcaps" / "ikev2-psk.pcap"
KEYS = REPO / "pcaps" / "ikev2-psk.moon.charon.log"

DRIVER = """
import atexit, json, os, sys
report = sys.argv[1]
def loaded():
    with open(report, "w") as out:
        json.dump({"modules": sorted(sys.modules), "openblas": os.environ.get("OPENBLAS_NUM_THREADS")}, out)
atexit.register(loaded)
sys.argv = ["ikesniff", *sys.argv[2:]]
from ikesniff.cli import main
main()
"""

NOT_LOADED = ("ikesniff.fusion", "ikesniff.config", "ikesniff.logs", "ikesniff.crypto.decrypt", "ikesniff.crypto.ikev1",
              "ikesniff.crypto.psk", "ikesniff.crypto.keys", "ikesniff.report", "ikesniff.explain_cli", "rich",
              "cryptography.x509", "cryptography.hazmat.primitives.ciphers")


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    report = tmp_path / "loaded.json"
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("OPENBLAS_NUM_THREADS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    environment.update(env or {})
    result = subprocess.run([sys.executable, "-c", DRIVER, str(report), *args], capture_output=True,
                            env=environment, check=False)
    assert result.returncode in (0, 1), result.stderr.decode()
    loaded: dict[str, object] = json.loads(report.read_text())
    return loaded


def test_a_plain_run_loads_only_what_it_uses(tmp_path: Path) -> None:
    loaded = run(tmp_path, "-r", str(CAPTURE), "--json")
    modules = loaded["modules"]
    assert isinstance(modules, list)
    assert "ikesniff.analysis" in modules and "numpy" in modules
    assert [name for name in modules if name.startswith(NOT_LOADED)] == []
    assert loaded["openblas"] == "1"


def test_the_user_s_openblas_setting_is_kept(tmp_path: Path) -> None:
    assert run(tmp_path, "-r", str(CAPTURE), "-q", env={"OPENBLAS_NUM_THREADS": "2"})["openblas"] == "2"


def test_keys_load_the_decryption_modules_when_given(tmp_path: Path) -> None:
    modules = run(tmp_path, "-r", str(CAPTURE), "--json", "--keys", str(KEYS))["modules"]
    assert isinstance(modules, list)
    assert "ikesniff.crypto.decrypt" in modules and "ikesniff.crypto.keys" in modules
