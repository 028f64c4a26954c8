"""The systemd unit in packaging/ (a template, one instance per interface), checked by systemd itself:
`systemd-analyze verify` and `systemd-analyze security --offline`.

systemd checks that ExecStart's program exists, and /usr/bin/ikesniff does not on a machine where
ikesniff is installed in a virtualenv. So both run with `--root` on a temporary root holding the unit
exactly as shipped, systemd's own units (copied from this machine: verify loads the targets a service
depends on) and, at /usr/bin/ikesniff, a copy of the `ikesniff` launcher installed with this checkout."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "packaging" / "ikesniff@.service"
LAUNCHER = Path(sys.executable).parent / "ikesniff"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def root_with(tmp_path: Path, unit_text: str, launcher: bool = True) -> Path:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system" / UNIT.name).write_text(unit_text)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    if launcher:
        shutil.copy2(LAUNCHER, root / "usr/bin/ikesniff")
    return root


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    # --man=no: Documentation=man:ikesniff(1) names the man page the packaging installs, not on this machine
    return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", "ikesniff@eth0.service"],
                          check=False, capture_output=True, text=True, timeout=120)


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_systemd_verifies_the_unit_without_a_word(tmp_path: Path) -> None:
    assert LAUNCHER.is_file()
    checked = verify(root_with(tmp_path, UNIT.read_text()))
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


@pytest.mark.parametrize(("change", "complaint"), [
    (("ProtectHome=yes", "ProtectHom=yes"), "Unknown key 'ProtectHom'"),
    (("Type=exec", "Type=exce"), "Failed to parse service type"),
])
def test_verify_would_catch_a_mistake(tmp_path: Path, change: tuple[str, str], complaint: str) -> None:
    checked = verify(root_with(tmp_path, UNIT.read_text().replace(*change)))
    assert complaint in checked.stdout + checked.stderr


def test_verify_wants_the_program_to_exist(tmp_path: Path) -> None:
    checked = verify(root_with(tmp_path, UNIT.read_text(), launcher=False))
    assert checked.returncode != 0
    assert "Command /usr/bin/ikesniff is not executable" in checked.stderr


def test_the_unit_holds_cap_net_raw_only_as_a_dynamic_user_in_a_read_only_system() -> None:
    unit = directives(UNIT.read_text())
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_RAW"]
    assert unit["AmbientCapabilities"] == ["CAP_NET_RAW"]
    for key, value in [("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("PrivateDevices", "yes")]:
        assert unit[key] == [value], key
    assert "User" not in unit and "PrivateNetwork" not in unit  # (the capture needs the host's interfaces)
    command = unit["ExecStart"][0].split()
    assert command[:3] == ["/usr/bin/ikesniff", "-i", "%I"]
    assert "--json" in command and command[command.index("--metrics") + 1] == "${IKESNIFF_METRICS}"
    assert unit["Environment"][0].split()[0] == "IKESNIFF_METRICS=9468"


def test_systemd_rates_the_units_exposure_low(tmp_path: Path) -> None:
    root = root_with(tmp_path, UNIT.read_text())
    checked = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={root}", "--threshold=25",
                              "--no-pager", "ikesniff@eth0.service"],
                             check=False, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
    assert re.search(r"Overall exposure level for ikesniff@eth0\.service: [0-2]\.[0-9] OK", checked.stdout)
