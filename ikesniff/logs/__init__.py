"""Gateway logs as evidence: records of what each line says, about which IKE SA, and when (sans-IO).

`read_log` turns the lines of one log into `LogRecord`s (strongSwan charon, libreswan pluto, Cisco ASA and
IOS, FortiGate, PAN-OS, Juniper SRX, Huawei, cloud consoles); `key_text` gives the IKE key material a log
prints as the text ikesniff's key reader (`--keys`) takes. The cause matcher and the verdict of
`ikesniff explain` are in `logs.causes`; the formats are data (data/log_sources.json, data/log_patterns.json).
"""

from __future__ import annotations

from .causes import Explanation, Verdict, explain, verdict
from .keys import key_text
from .reader import read_log
from .record import KINDS, SOURCES, LogRecord

__all__ = ["KINDS", "SOURCES", "Explanation", "LogRecord", "Verdict", "explain", "key_text", "read_log",
           "verdict"]
