"""Gateway logs as evidence: records of what each line says, about which IKE SA, and when (sans-IO).

`read_log` turns the lines of one log into `LogRecord`s (strongSwan charon, libreswan pluto, Cisco ASA and
IOS, FortiGate, PAN-OS, Juniper SRX, Huawei, cloud consoles); `key_material` gives the IKE keys a log prints
in the form ikesniff.keys uses. The cause matcher and verdict of `ikesniff explain` are in `logs.causes`.
"""

from __future__ import annotations

from .causes import Explanation, Verdict, explain, verdict
from .keys import key_material
from .reader import read_log
from .record import KINDS, SOURCES, LogRecord

__all__ = ["KINDS", "SOURCES", "Explanation", "LogRecord", "Verdict", "explain", "key_material", "read_log",
           "verdict"]
