"""The grammar of a strongSwan charon log, as far as keys and SPIs go: one source for the key reader
(`keys.py`) and the lab (`lab/charonlog.py` imports it).

Lines look like (file logger with ``time_format``, ``ike_name = yes``; syslog and journal prefixes, or
none, work too)::

    Nov 22 15:31:54.550 06[IKE] <lab|1> Sk_ei secret => 16 bytes @ 0x7f4b6c001a90
    Nov 22 15:31:54.550 06[IKE] <lab|1>    0: 9A 57 FD 45 CC 5A 79 C1 52 92 E1 5A BF 7C 27 EB  .W.E.Zy.R..Z.|'.
    Nov 22 15:31:54.560 06[MGR] <lab|1> checkin IKEv2 SA lab[1] with SPIs 06fa6c104b18f40a_i ac28d4353eec6935_r

Pure text in, plain records out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# "<time> 06[IKE] <lab|1> msg": a time stamp, syslog or journal prefix, or none; ike_name=no gives "<1>"
LINE = re.compile(
    r"^(?:(?P<time>.*?) )?(?P<thread>\d{2,})\[(?P<group>[A-Z]{2,5})\] "
    r"(?:<(?:(?P<ike_name>[^|>]*)\|)?(?P<ike_id>\d+)> ?)?(?P<msg>.*)$"
)
DUMP_HEAD = re.compile(r"^(?P<what>\S.*?) => (?P<size>\d+) bytes @ \S+$")
DUMP_ROW = re.compile(r"^\s*(?P<offset>\d+): (?P<rest>.*)$")
CHECKIN = re.compile(
    r"check(?:in|out) (?P<version>IKEv[12]) SA (?:(?P<name>[^\s\[]+)\[(?P<id>\d+)\] )?.*?"
    r"with SPIs (?P<spi_i>[0-9a-f]{16})_i (?P<spi_r>[0-9a-f]{16})_r"
)
IKE_SA_UP = re.compile(r"^IKE_SA (?P<name>\S+)\[(?P<id>\d+)\] (?:established|rekeyed) between ")
START = "Starting IKE charon daemon"
SELECTED_IKE = re.compile(r"^selected proposal: IKE:(?P<proposal>\S+)")
HEX_OCTET = re.compile(r"[0-9A-Fa-f]{2}")


@dataclass(slots=True)
class CharonLine:
    """One line of a charon log."""

    number: int
    """1-based line number in the file."""
    time: str | None
    thread: str
    group: str
    ike_name: str | None
    ike_id: int | None
    """charon's unique id of the IKE SA the line speaks of."""
    msg: str


def lines(text: str) -> list[CharonLine]:
    """The charon lines of a log (other lines are left out)."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = LINE.match(raw)
        if match:
            ike_id = match["ike_id"]
            found.append(CharonLine(number, match["time"], match["thread"], match["group"], match["ike_name"],
                                    int(ike_id) if ike_id else None, match["msg"]))
    return found


def dumps(log: list[CharonLine], wanted: Callable[[str], bool] = lambda what: True,
          cut: Callable[[CharonLine, str, int, int], None] | None = None) -> list[tuple[CharonLine, str, bytes]]:
    """Every ``X => N bytes @ 0x..`` dump whose name `wanted` accepts, with its bytes, read from the rows of
    16 hex octets that follow it. Rows are taken from the same thread and IKE SA only, so that lines of
    other threads written in between do not mix in. A dump cut short (a log that ends or rotates in the
    middle of one) is left out and reported to `cut(line, what, octets read, size)`."""
    found = []
    for index, line in enumerate(log):
        head = DUMP_HEAD.match(line.msg)
        if not head or not wanted(head["what"]):
            continue
        size = int(head["size"])
        data = bytearray()
        for position in range(index + 1, len(log)):
            if len(data) >= size:
                break
            row = log[position]
            if row.thread != line.thread or row.ike_id != line.ike_id:
                continue
            match = DUMP_ROW.match(row.msg)
            if not match or int(match["offset"]) != len(data):
                break
            tokens = match["rest"].split()[:min(16, size - len(data))]
            if not all(HEX_OCTET.fullmatch(token) for token in tokens):
                break
            data += bytes.fromhex("".join(tokens))
        if len(data) != size:
            if cut is not None:
                cut(line, head["what"], len(data), size)
            continue
        found.append((line, head["what"], bytes(data)))
    return found
