"""Outputs as sinks: each takes the events of `ikesniff.api.analyse` one at a time and gives nothing back.

One class per output: JSON Lines (`jsonl`), text lines and verdicts (`text`), the live board (`board`),
the report (`report`), the `-w` capture (`pcap`), metrics for Prometheus (`metrics`), syslog (`syslog`),
and the redaction wrapper that sits in front of the others (`redact`). The command line assembles them;
a new output format is one new class here.
"""

from .base import Sink

__all__ = ["Sink"]
