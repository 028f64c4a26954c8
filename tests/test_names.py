"""The named registry values (dissectors/names.py) agree with the registries they are generated from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dissectors import ikev1_registry as v1
from dissectors import ikev2_registry as v2
from dissectors.names import NotifyType, V1Exchange, V1Payload, V2Exchange, V2Payload

REPO = Path(__file__).resolve().parents[1]


def test_exchange_enums_name_the_registry_values() -> None:
    assert {member.value: member.name for member in V1Exchange} == v1.EXCHANGE_TYPES
    assert {member.value: member.name for member in V2Exchange} == v2.EXCHANGE_TYPES


def test_every_notify_of_both_registries_has_a_member_with_its_value() -> None:
    for registry in (v1.NOTIFY_NAMES, v2.NOTIFY_TYPES):
        for value, text in registry.items():
            name = text.upper()
            member = NotifyType[name] if name in NotifyType.__members__ and NotifyType[name] == value \
                else NotifyType[f"{name}_V1"]
            assert member == value, name
    assert NotifyType.R_U_THERE == 36136 and NotifyType.COOKIE == 16390 and NotifyType.INVALID_KE_PAYLOAD == 17


def test_payload_enums_name_the_registry_values() -> None:
    assert {m.value: m.name for m in V1Payload} == {k: v.replace("-", "_") for k, v in v1.PAYLOAD_NAMES.items()}
    assert {m.value: m.name for m in V2Payload} == {k: v.upper() for k, v in v2.PAYLOAD_NAMES.items()}


def test_the_committed_names_module_is_what_the_generator_writes(tmp_path: Path) -> None:
    committed = (REPO / "dissectors" / "names.py").read_text(encoding="utf-8")
    subprocess.run([sys.executable, str(REPO / "tools" / "gen_names.py")], check=True)
    assert (REPO / "dissectors" / "names.py").read_text(encoding="utf-8") == committed
