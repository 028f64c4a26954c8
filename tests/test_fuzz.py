"""Property-based fuzzing (hypothesis) of everything that reads untrusted bytes (SPEC §7: malformed,
truncated or hostile input never crashes or hangs: it becomes an `errors` entry or a clear error).

* dissectors: every IKE message of the real captures (shared corpus and pcaps/, read once with scapy)
  is a seed. Mutated seeds (bit flips, overwrites, insertions, deletions, truncations, payload-length
  and next-payload rewrites at the payload boundaries the dissector reports, header rewrites), every
  truncation, random bodies behind a plausible header and arbitrary bytes go through `parse_message`,
  which must return a `Message` whose payloads all lie inside the data, with `errors` as strings and an
  error whenever the header length exceeds the data; `-v`'s tree must render it. A `PayloadMemo`
  changes no result. The Cisco fragment reassembler stays within `max_pending` and rebuilds a message
  fed in any order.
* capture layer: small pcap/pcapng files built here with struct from the seeds (Ethernet, VLAN, IPv6,
  UDP 4500 with the non-ESP marker, IPv4 and IPv6 fragments, RFC 8229 TCP, ESP, ICMP errors; other link
  types, both byte orders, two interfaces, two sections, custom and simple packet blocks) have their
  file bytes damaged (record/block headers, caplen, block lengths, IP/UDP/TCP fields, global header,
  truncation, insertion...). `read_capture` with each reader ('libpcap', 'python', 'auto'; tiny batch
  sizes too) raises CaptureError with one line before yielding anything, or reads to the end without
  any other exception, under a SIGALRM hang guard; gzip input likewise. Intact files give the same IKE
  datagrams with every reader. The whole analysis (tracker, JSON, printed lines) runs in-process.
* CLI: damaged files through `python -m ikesniff -r F --json` (and `-r -`): exit status 0/1/2, no
  traceback or "internal error", stdout all JSON lines.

A property that finds a bug keeps its minimal input as an explicit `@example`, so the test fails until
the product code is fixed. Under CI=true the examples are derandomized (reproducible runs);
FUZZ_SCALE=N multiplies every example count for a longer local campaign.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import itertools
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import dissectors
from dissectors.ikev1 import CiscoFragmentPayload, CiscoFragmentReassembler, ReassembledMessage
from dissectors.model import ISAKMP_HEADER_LENGTH, Message, Payload
from ikesniff.capture import (
    CaptureError,
    CaptureStats,
    EspSighting,
    FrameProblem,
    IcmpError,
    IkeDatagram,
    read_capture,
)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "external"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
IKE_PORTS = (500, 4500)
NON_ESP_MARKER = b"\0\0\0\0"
HANG_SECONDS = 10
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
"""Multiplies every property's example count: FUZZ_SCALE=50 for a long local fuzzing campaign."""


def fuzz_settings(examples: int) -> settings:
    """No per-example deadline (a 2-core CI box is slow and noisy); reproducible under CI."""
    return settings(max_examples=max(1, round(examples * SCALE)), deadline=None, derandomize=CI,
                    database=None if CI else settings().database,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# --- seeds ------------------------------------------------------------------------------------------
def _capture_files() -> list[Path]:
    files = sorted((REPO / "pcaps").glob("*.pcap*"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap"))
    return files


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """The ISAKMP bytes of every UDP datagram to or from port 500/4500 in the real captures (IP
    fragments reassembled, the non-ESP marker of port 4500 stripped; ESP and keepalives left out),
    deduplicated, shortest first. Read with scapy once per session."""
    import logging

    logging.getLogger("scapy").setLevel(logging.ERROR)
    from scapy.layers.inet import UDP, defragment
    from scapy.utils import rdpcap

    found: set[bytes] = set()
    for path in _capture_files():
        try:
            packets = defragment(rdpcap(str(path)))  # type: ignore[no-untyped-call]
        except Exception:  # noqa: BLE001 - a capture scapy cannot read gives no seeds
            packets = []
        for packet in packets:
            if UDP not in packet:
                continue
            udp = packet[UDP]
            if udp.sport not in IKE_PORTS and udp.dport not in IKE_PORTS:
                continue
            payload = bytes(udp.payload)
            if 4500 in (udp.sport, udp.dport):
                if not payload.startswith(NON_ESP_MARKER):
                    continue                      # ESP in UDP or a NAT keepalive
                payload = payload[4:]
            if len(payload) >= ISAKMP_HEADER_LENGTH and payload[17] >> 4 in (1, 2):
                found.add(payload)
    return tuple(sorted(found, key=lambda data: (len(data), data)))


@functools.cache
def valid_seeds() -> tuple[bytes, ...]:
    """Seeds that dissect without an error and whose header length is exactly their size."""
    good = []
    for data in seeds():
        message = dissectors.parse_message(data)
        if not message.errors and message.header.length == len(data):
            good.append(data)
    return tuple(good)


def test_seed_corpus_is_real() -> None:
    assert len(seeds()) >= 50, "the real captures gave too few IKE messages to fuzz from"
    versions = {data[17] >> 4 for data in seeds()}
    assert versions == {1, 2}
    assert len(valid_seeds()) >= 20


SEEDS = st.deferred(lambda: st.sampled_from(seeds()))
VALID_SEEDS = st.deferred(lambda: st.sampled_from(valid_seeds()))
SMALL_SEEDS = st.deferred(lambda: st.sampled_from([data for data in seeds() if len(data) <= 600]))
"""Seeds for capture files: small, so that a file of several stays quick to build and damage."""


# --- dissector invariants -----------------------------------------------------------------------------
def _located(obj: Any) -> Iterator[Any]:
    """Every dataclass object reachable from `obj` (payloads, proposals, transforms, ...)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        yield obj
        for f in dataclasses.fields(obj):
            yield from _located(getattr(obj, f.name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _located(item)


def check_message(message: Any, data: bytes) -> None:
    """What every `parse_message` result must satisfy, whatever the input."""
    assert isinstance(message, Message)
    assert isinstance(message.errors, list)
    assert all(isinstance(error, str) and error for error in message.errors), message.errors
    assert isinstance(message.exchange_name, str) and message.exchange_name
    # the derived views must not raise either
    message.is_response, message.is_initiator, message.encrypted, message.commit  # noqa: B018
    assert all(isinstance(name, str) for name in message.payload_names)
    message.notifies  # noqa: B018
    for part in _located(message.payloads):
        offset, length = getattr(part, "offset", None), getattr(part, "length", None)
        if not (isinstance(offset, int) and isinstance(length, int)):
            continue
        assert 0 <= offset and 0 <= length, (type(part).__name__, offset, length)
        if isinstance(part, Payload):
            # a payload (top level or nested, e.g. IKEv1 proposal/transform payloads) lies inside the data
            assert offset + length <= len(data), (type(part).__name__, offset, length, len(data))
        else:
            # a substructure (IKEv2 proposal, ...) keeps its length as declared, like the header does:
            # it starts inside the data, and when it claims more than there is, that is an error entry
            assert offset < len(data), (type(part).__name__, offset, len(data))
            if offset + length > len(data):
                assert message.errors, (type(part).__name__, offset, length, len(data))


def _render(message: Message) -> None:
    """The `-v` tree and the JSON encoder walk the same dataclasses: they must not choke either."""
    from ikesniff.output import message_tree

    lines = message_tree(message)
    assert all(isinstance(line, str) for line in lines)


def parse_checked(data: bytes) -> Message:
    message = dissectors.parse_message(data)
    check_message(message, data)
    return message


# --- mutations ----------------------------------------------------------------------------------------
INTERESTING_U8 = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
INTERESTING_U16 = (0, 1, 2, 3, 4, 5, 7, 8, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)
INTERESTING_U32 = (0, 1, 27, 28, 29, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
PAYLOAD_TYPES = (0, *range(1, 17), 20, 21, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
                 53, 54, 130, 131, 132, 255)


def _boundaries(data: bytes) -> list[tuple[int, int]]:
    """(offset, declared length) of every generic header the dissector found (payloads, proposals,
    transforms)."""
    message = dissectors.parse_message(data)
    found = []
    for part in _located(message.payloads):
        offset, length = getattr(part, "offset", None), getattr(part, "length", None)
        if isinstance(offset, int) and isinstance(length, int) and offset + 4 <= len(data):
            found.append((offset, length))
    return found


@st.composite
def mutated_message(draw: st.DrawFn, seed_strategy: st.SearchStrategy[bytes] = SEEDS) -> bytes:
    data = bytearray(draw(seed_strategy))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        kind = draw(st.sampled_from(("flip", "byte", "insert", "delete", "truncate", "payload_length",
                                     "next_payload", "header_length", "header_byte")))
        if kind == "flip" and size:
            at = draw(st.integers(0, size - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and size:
            at = draw(st.integers(0, size - 1))
            value = draw(st.sampled_from(INTERESTING_U8) | st.integers(0, 255))
            data[at] = value
        elif kind == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete" and size:
            at = draw(st.integers(0, size - 1))
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[draw(st.integers(0, size)):]
        elif kind in ("payload_length", "next_payload"):
            links = _boundaries(bytes(data))
            if not links:
                continue
            offset, length = draw(st.sampled_from(links))
            if kind == "next_payload":
                data[offset] = draw(st.sampled_from(PAYLOAD_TYPES) | st.integers(0, 255))
            else:
                left = size - offset
                value = draw(st.sampled_from((*INTERESTING_U16, length - 1, length + 1, length - 4,
                                              length + 4, left, left + 1)) | st.integers(0, 0xFFFF))
                data[offset + 2:offset + 4] = struct.pack("!H", value & 0xFFFF)
        elif kind == "header_length" and size >= ISAKMP_HEADER_LENGTH:
            value = draw(st.sampled_from((*INTERESTING_U32, size - 1, size + 1, size + 4))
                         | st.integers(0, 0xFFFFFFFF))
            data[24:28] = struct.pack("!I", value & 0xFFFFFFFF)
        elif kind == "header_byte" and size >= ISAKMP_HEADER_LENGTH:
            at = draw(st.sampled_from((16, 17, 18, 19)))       # next payload, version, exchange, flags
            data[at] = draw(st.sampled_from(INTERESTING_U8) | st.integers(0, 255))
    return bytes(data)


# --- (a) mutated seeds --------------------------------------------------------------------------------
@fuzz_settings(2000)
@given(mutated_message())
def test_mutated_messages_never_raise(data: bytes) -> None:
    message = parse_checked(data)
    _render(message)


@fuzz_settings(400)
@given(st.data())
def test_mutated_messages_with_explicit_positions(data: st.DataObject) -> None:
    """The same, with mutation positions drawn from the seed's own size (st.data): one rewrite of a
    payload length at a payload boundary, then a run of overwritten octets."""
    seed = bytearray(data.draw(SEEDS, label="seed"))
    links = _boundaries(bytes(seed))
    if links:
        offset, _ = data.draw(st.sampled_from(links), label="boundary")
        value = data.draw(st.integers(0, 0xFFFF), label="length")
        seed[offset + 2:offset + 4] = struct.pack("!H", value)
    start = data.draw(st.integers(0, len(seed)), label="start")
    patch = data.draw(st.binary(max_size=12), label="patch")
    seed[start:start + len(patch)] = patch
    parse_checked(bytes(seed))


@fuzz_settings(300)
@given(st.lists(mutated_message(), min_size=1, max_size=5), st.data())
def test_payload_memo_changes_nothing(messages: list[bytes], data: st.DataObject) -> None:
    """A PayloadMemo shared across messages (as the pipeline keeps one per capture) gives the very same
    dissection as none: mutated messages, each possibly repeated, in any order."""
    sequence = data.draw(st.lists(st.sampled_from(messages), min_size=1, max_size=12), label="order")
    memo = dissectors.PayloadMemo(limit=data.draw(st.sampled_from((4096, 3, 1)), label="limit"))
    for message in sequence:
        with_memo = dissectors.parse_message(message, memo)
        check_message(with_memo, message)
        assert with_memo == dissectors.parse_message(message)


# --- (b) truncation -----------------------------------------------------------------------------------
@fuzz_settings(300)
@given(VALID_SEEDS, st.data())
def test_truncated_valid_message_reports_an_error(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed) - 1), label="cut")
    message = parse_checked(seed[:cut])
    # the header says len(seed) octets; only `cut` are left
    assert message.errors, f"no error for a message cut to {cut} of {len(seed)} octets"


# --- (c) random bodies behind a plausible header ------------------------------------------------------
EXCHANGES = (0, 1, 2, 3, 4, 5, 6, 32, 33, 34, 35, 36, 37, 38, 43, 44, 240, 255)


@st.composite
def payload_chain(draw: st.DrawFn) -> tuple[int, bytes]:
    """(first payload type, body): generic payloads with random bodies, sometimes with wrong lengths."""
    count = draw(st.integers(0, 6))
    types = [draw(st.sampled_from(PAYLOAD_TYPES[1:]) | st.integers(1, 255)) for _ in range(count)]
    body = b""
    for index, payload_type in enumerate(types):
        content = draw(st.binary(max_size=48))
        next_type = types[index + 1] if index + 1 < count else 0
        length = 4 + len(content)
        if draw(st.integers(0, 9)) == 0:
            length = draw(st.sampled_from(INTERESTING_U16) | st.integers(0, 0xFFFF))
        body += struct.pack("!BBH", next_type, draw(st.sampled_from((0, 0x80, 0x01))), length) + content
    if draw(st.booleans()):
        body += draw(st.binary(max_size=8))
    return (types[0] if types else 0), body


@st.composite
def random_message(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from((0x10, 0x20)))
    first, body = draw(payload_chain()) if draw(st.booleans()) else (
        draw(st.sampled_from(PAYLOAD_TYPES) | st.integers(0, 255)), draw(st.binary(max_size=300)))
    exchange = draw(st.sampled_from(EXCHANGES) | st.integers(0, 255))
    flags = draw(st.sampled_from((0x00, 0x01, 0x02, 0x03, 0x08, 0x20, 0x28, 0xFF)) | st.integers(0, 255))
    total = ISAKMP_HEADER_LENGTH + len(body)
    length = draw(st.sampled_from((total, total, total - 1, total + 1, 0, 28, 0xFFFFFFFF))
                  | st.integers(0, 0xFFFFFFFF))
    header = (draw(st.binary(min_size=8, max_size=8)) + draw(st.binary(min_size=8, max_size=8))
              + struct.pack("!BBBBII", first, version, exchange, flags, draw(st.integers(0, 0xFFFFFFFF)),
                            length))
    return header + body


@fuzz_settings(1000)
@given(random_message())
def test_random_bodies_never_raise(data: bytes) -> None:
    message = parse_checked(data)
    assert message.version == data[17] >> 4
    _render(message)


@fuzz_settings(200)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    message = parse_checked(data)
    if len(data) < ISAKMP_HEADER_LENGTH:
        assert message.errors


# --- plain loop: every truncation, every early octet zeroed and saturated -----------------------------
def test_every_truncation_and_early_octet_of_every_seed() -> None:
    failures: list[str] = []
    for seed in seeds():
        declared = struct.unpack_from("!I", seed, 24)[0]
        for cut in range(len(seed) + 1):
            piece = seed[:cut]
            try:
                message = dissectors.parse_message(piece)
                assert isinstance(message, Message)
                assert isinstance(message.errors, list)
                if cut < ISAKMP_HEADER_LENGTH or declared > cut:
                    assert message.errors, "no error although the header length exceeds the data"
            except Exception as error:  # noqa: BLE001 - collect them all, then fail once
                failures.append(f"seed {seed[:32].hex()}… cut at {cut}: {type(error).__name__}: {error}")
        for at in range(min(64, len(seed))):
            for value in (0x00, 0xFF):
                piece = seed[:at] + bytes((value,)) + seed[at + 1:]
                try:
                    message = dissectors.parse_message(piece)
                    assert isinstance(message, Message)
                    assert all(isinstance(e, str) for e in message.errors)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"seed {seed[:32].hex()}… octet {at} = {value:#x}: "
                                    f"{type(error).__name__}: {error}")
        if len(failures) > 20:
            break
    assert not failures, "\n".join(failures[:20])


# --- Cisco fragment reassembly ------------------------------------------------------------------------
fragment_strategy = st.builds(
    lambda spi, sender, fragment_id, number, last, data, frame: (spi, sender, CiscoFragmentPayload(
        132, "CISCO_FRAGMENTATION", 28, 12 + len(data), fragment_id=fragment_id, number=number, last=last,
        data=data), frame),
    st.sampled_from(((b"\1" * 8, bytes(8)), (b"\1" * 8, b"\2" * 8), (b"\3" * 8, b"\4" * 8))),
    st.sampled_from((None, ("192.0.2.1", 500), ("192.0.2.2", 4500))),
    st.integers(0, 3) | st.integers(0, 0xFFFF),
    st.integers(-1, 8) | st.integers(-2, 300),
    st.booleans(),
    st.binary(max_size=64),
    st.integers(1, 10_000),
)


@fuzz_settings(300)
@given(st.lists(fragment_strategy, max_size=80), st.integers(1, 6), st.integers(1, 10),
       st.integers(0, 400), st.booleans())
def test_cisco_reassembler_stays_bounded(sequence: list[Any], max_pending: int, max_fragments: int,
                                         max_message_size: int, any_order: bool) -> None:
    reassembler = CiscoFragmentReassembler(max_fragments=max_fragments, max_pending=max_pending,
                                           max_message_size=max_message_size, any_order=any_order)
    dropped = 0
    fed_frames: set[int] = set()
    for (spi_i, spi_r), sender, fragment, frame in sequence:
        fed_frames.add(frame)
        done = reassembler.feed(spi_i, spi_r, fragment, frame, sender=sender)
        assert len(reassembler) <= max_pending
        assert reassembler.dropped >= dropped
        dropped = reassembler.dropped
        if done is not None:
            assert isinstance(done, ReassembledMessage)
            assert isinstance(done.data, bytes)
            assert len(done.data) <= max_message_size
            assert 1 <= len(done.frames) <= max_fragments
            assert set(done.frames) <= fed_frames
            assert done.fragment_id == fragment.fragment_id
            parse_checked(done.data)


@fuzz_settings(200)
@given(VALID_SEEDS, st.integers(1, 8), st.randoms(use_true_random=False), st.booleans())
def test_cisco_fragments_in_any_order_rebuild_the_message(seed: bytes, count: int, rng: Any,
                                                          any_order: bool) -> None:
    """Not only bounded but right: a message cut into fragments, fed in a shuffled order, comes back
    whole exactly once (at the last fragment needed, or with any_order=False only once the fragment
    flagged last has come after all the others)."""
    step = -(-len(seed) // count)
    pieces = [seed[at:at + step] for at in range(0, len(seed), step)]
    order = list(range(len(pieces)))
    rng.shuffle(order)
    reassembler = CiscoFragmentReassembler(any_order=any_order)
    done = []
    for position, index in enumerate(order):
        fragment = CiscoFragmentPayload(132, "CISCO_FRAGMENTATION", 28, 12 + len(pieces[index]),
                                        fragment_id=7, number=index + 1, last=index == len(pieces) - 1,
                                        data=pieces[index])
        result = reassembler.feed(b"\1" * 8, b"\2" * 8, fragment, 100 + position, sender=("192.0.2.1", 500))
        if result is not None:
            done.append(result)
    last_arrives_last = order[-1] == len(pieces) - 1
    if any_order or last_arrives_last:
        assert len(done) == 1
        assert done[0].data == seed
        assert done[0].frames == [100 + order.index(i) for i in range(len(pieces))]
        assert len(reassembler) == 0
    else:
        assert done == []
        assert len(reassembler) == 1


# --- capture files built from seeds --------------------------------------------------------------------
def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


V4_A, V4_B = bytes((192, 0, 2, 1)), bytes((198, 51, 100, 2))
V6_A, V6_B = bytes.fromhex("20010db8" + "00" * 11 + "01"), bytes.fromhex("20010db8" + "00" * 11 + "02")
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


@dataclasses.dataclass
class Frame:
    """A link-layer frame and where its interesting fields are (offset, size) within it."""

    data: bytes
    fields: list[tuple[int, int]] = dataclasses.field(default_factory=list)


def _ipv4(proto: int, payload: bytes, *, ident: int = 0x4242, offset: int = 0, more: bool = False,
          total: int | None = None) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total if total is not None else 20 + len(payload), ident,
                         (0x2000 if more else 0) | (offset // 8), 64, proto, 0, V4_A, V4_B)
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _ipv6(next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 64, V6_A, V6_B) + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _tcp(sport: int, dport: int, seq: int, payload: bytes, flags: int = 0x18) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0) + payload


def _ether(ethertype: int, payload: bytes, vlan: bool = False) -> bytes:
    tag = struct.pack("!HH", 0x8100, 7) if vlan else b""
    return MAC_B + MAC_A + tag + struct.pack("!H", ethertype) + payload


# ip fields (relative to the IP header), transport fields (relative to the transport header)
V4_FIELDS = [(0, 1), (2, 2), (6, 2), (9, 1)]
V6_FIELDS = [(4, 2), (6, 1)]
UDP_FIELDS = [(4, 2)]
TCP_FIELDS = [(4, 4), (12, 1), (13, 1)]


def _shift(fields: list[tuple[int, int]], by: int) -> list[tuple[int, int]]:
    return [(offset + by, size) for offset, size in fields]


def frames_for(message: bytes, kind: str, index: int = 0) -> list[Frame]:
    """The Ethernet frames that carry `message` in the manner `kind` names; `index` (the message's
    position in the capture) keeps IP identifications and TCP connections apart."""
    if kind == "v4":
        return [Frame(_ether(0x0800, _ipv4(17, _udp(500, 500, message))),
                      _shift(V4_FIELDS, 14) + _shift(UDP_FIELDS, 34))]
    if kind == "vlan":
        return [Frame(_ether(0x0800, _ipv4(17, _udp(500, 500, message)), vlan=True),
                      [(12, 2), (16, 2)] + _shift(V4_FIELDS, 18) + _shift(UDP_FIELDS, 38))]
    if kind == "v6":
        return [Frame(_ether(0x86DD, _ipv6(17, _udp(500, 500, message))),
                      _shift(V6_FIELDS, 14) + _shift(UDP_FIELDS, 54))]
    if kind == "nat":
        return [Frame(_ether(0x0800, _ipv4(17, _udp(4500, 4500, NON_ESP_MARKER + message))),
                      _shift(V4_FIELDS, 14) + _shift(UDP_FIELDS, 34) + [(42, 4)])]
    if kind == "frag":
        datagram = _udp(500, 500, message)
        cut = max(8, (len(datagram) // 2) // 8 * 8)
        first = _ether(0x0800, _ipv4(17, datagram[:cut], ident=index, more=True))
        second = _ether(0x0800, _ipv4(17, datagram[cut:], ident=index, offset=cut))
        return [Frame(first, _shift(V4_FIELDS, 14) + _shift(UDP_FIELDS, 34)),
                Frame(second, _shift(V4_FIELDS, 14))]
    if kind == "frag3":
        # three fragments, the last first (reassembly must not care about order)
        datagram = _udp(500, 500, message)
        step = max(8, (len(datagram) // 3) // 8 * 8)
        cuts = [0, min(step, len(datagram)), min(2 * step, len(datagram)), len(datagram)]
        parts = [Frame(_ether(0x0800, _ipv4(17, datagram[a:b], ident=index, offset=a,
                                            more=b < len(datagram))), _shift(V4_FIELDS, 14))
                 for a, b in itertools.pairwise(cuts) if b > a or a == 0]
        return parts[-1:] + parts[:-1]
    if kind == "v6frag":
        datagram = _udp(500, 500, message)
        cut = max(8, (len(datagram) // 2) // 8 * 8)
        pieces = ((0, datagram[:cut], 1), (cut, datagram[cut:], 0))
        return [Frame(_ether(0x86DD, _ipv6(44, struct.pack("!BBHI", 17, 0, offset | more, 0x1000 + index)
                                           + part)), _shift(V6_FIELDS, 14) + [(54, 1), (56, 2), (58, 4)])
                for offset, part, more in pieces]
    if kind == "tcp_split":
        # a SYN, then the prefix and record in two segments, the second one sent first
        stream = b"IKETCP" + struct.pack("!H", 2 + 4 + len(message)) + NON_ESP_MARKER + message
        cut = len(stream) // 2
        syn = Frame(_ether(0x0800, _ipv4(6, _tcp(41000 + index, 4500, 4999, b"", flags=0x02))),
                    _shift(TCP_FIELDS, 34))
        head = Frame(_ether(0x0800, _ipv4(6, _tcp(41000 + index, 4500, 5000, stream[:cut]))),
                     _shift(V4_FIELDS, 14) + _shift(TCP_FIELDS, 34))
        tail = Frame(_ether(0x0800, _ipv4(6, _tcp(41000 + index, 4500, 5000 + cut, stream[cut:]))),
                     _shift(V4_FIELDS, 14) + _shift(TCP_FIELDS, 34))
        return [syn, tail, head]
    if kind == "icmp":
        quoted = _ipv4(17, _udp(500, 500, message))[:28]
        icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1280) + quoted          # fragmentation needed, MTU 1280
        quoted6 = _ipv6(17, _udp(4500, 4500, message))[:48]
        icmp6 = struct.pack("!BBHI", 1, 4, 0, 0) + quoted6               # port unreachable
        return [Frame(_ether(0x0800, _ipv4(1, icmp)),
                      _shift(V4_FIELDS, 14) + [(34, 1), (35, 1), (42, 1), (51, 1)]),
                Frame(_ether(0x86DD, _ipv6(58, icmp6)), _shift(V6_FIELDS, 14) + [(54, 1), (55, 1), (62, 1)])]
    if kind == "tcp":
        record = struct.pack("!H", 2 + 4 + len(message)) + NON_ESP_MARKER + message
        return [Frame(_ether(0x0800, _ipv4(6, _tcp(40000 + index, 4500, 1000, b"IKETCP" + record))),
                      _shift(V4_FIELDS, 14) + _shift(TCP_FIELDS, 34) + [(60, 2)])]
    if kind == "esp":
        esp = struct.pack("!II", 0xC0FFEE01, 1) + message[:32]
        return [Frame(_ether(0x0800, _ipv4(50, esp)), _shift(V4_FIELDS, 14) + [(34, 4)]),
                Frame(_ether(0x0800, _ipv4(17, _udp(4500, 4500, esp))),
                      _shift(V4_FIELDS, 14) + _shift(UDP_FIELDS, 34) + [(42, 4)])]
    if kind == "keepalive":
        return [Frame(_ether(0x0800, _ipv4(17, _udp(4500, 4500, b"\xff"))), _shift(V4_FIELDS, 14))]
    raise ValueError(kind)


FRAME_KINDS = ("v4", "vlan", "v6", "nat", "frag", "frag3", "v6frag", "tcp", "tcp_split", "esp", "keepalive",
               "icmp")
NO_DATAGRAM_KINDS = ("esp", "keepalive", "icmp")


@dataclasses.dataclass
class CaptureFile:
    data: bytes
    fields: list[tuple[int, int, str]]
    """(offset, size, byte order) of the header fields worth damaging: file and record headers,
    block lengths, caplen, IP and UDP lengths..."""
    header_size: int


LINK_HEADERS: dict[int, tuple[bytes, bytes]] = {
    # link type: (header for IPv4, header for IPv6), in place of the 14-octet Ethernet header
    101: (b"", b""),                                                  # raw IP
    0: (struct.pack("<I", 2), struct.pack("<I", 30)),                 # BSD null (host order)
    108: (struct.pack(">I", 2), struct.pack(">I", 30)),               # OpenBSD loop
    113: (struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800),
          struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x86DD)),   # Linux cooked v1
    276: (struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, MAC_A + b"\0\0"),
          struct.pack("!HHIHBB8s", 0x86DD, 0, 2, 1, 0, 6, MAC_A + b"\0\0")),  # Linux cooked v2
}


def relink(frame: Frame, link_type: int) -> Frame:
    """The same packet under another link header (Ethernet VLAN tags dropped)."""
    if link_type == 1:
        return frame
    tagged = frame.data[12:14] == b"\x81\x00"
    strip = 18 if tagged else 14
    ethertype = frame.data[strip - 2:strip]
    header = LINK_HEADERS[link_type][1 if ethertype == b"\x86\xdd" else 0]
    shift = len(header) - strip
    return Frame(header + frame.data[strip:],
                 [(offset + shift, size) for offset, size in frame.fields if offset >= strip])


def build_pcap(frames: list[Frame], *, nanoseconds: bool = False, snaplen: int = 65535, order: str = "<",
               link_type: int = 1) -> CaptureFile:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = bytearray(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link_type))
    fields = [(0, 4, order), (4, 2, order), (16, 4, order), (20, 4, order)]
    for index, frame in enumerate(relink(frame, link_type) for frame in frames):
        at = len(out)
        out += struct.pack(order + "IIII", 1_700_000_000 + index, 1000 * index, len(frame.data),
                           len(frame.data))
        fields += [(at, 4, order), (at + 4, 4, order), (at + 8, 4, order), (at + 12, 4, order)]
        fields += [(at + 16 + offset, size, ">") for offset, size in frame.fields]
        out += frame.data
    return CaptureFile(bytes(out), fields, 24)


def build_pcapng(frames: list[Frame], *, second_interface: bool = False, custom_block: bool = False,
                 simple_packet: bool = False, tsresol: int | None = None, order: str = "<",
                 second_section: bool = False) -> CaptureFile:
    """One section (byte order `order`) with an Ethernet interface (and a raw-IP one, used by every
    other frame, with `second_interface`); optionally a custom block, a Simple Packet Block, an
    if_tsresol option, and a second section (big-endian, Ethernet) holding the second half of the frames."""
    fields: list[tuple[int, int, str]] = []
    out = bytearray()

    def block(block_type: int, body: bytes, extra: list[tuple[int, int]], endian: str) -> int:
        body += b"\0" * (-len(body) % 4)
        length = 12 + len(body)
        at = len(out)
        out.extend(struct.pack(endian + "II", block_type, length) + body + struct.pack(endian + "I", length))
        fields.extend([(at, 4, endian), (at + 4, 4, endian), (at + length - 4, 4, endian)])
        fields.extend((at + offset, size, endian) for offset, size in extra)
        return at

    def section(endian: str, resolution: int | None) -> None:
        block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), [(8, 4), (12, 2), (16, 8)],
              endian)
        options = b""
        if resolution is not None:
            options = struct.pack(endian + "HHB3x", 9, 1, resolution) + struct.pack(endian + "HH", 0, 0)
        block(1, struct.pack(endian + "HHI", 1, 0, 262144) + options,
              [(8, 2), (12, 4)] + ([(16, 4), (20, 1)] if options else []), endian)

    section(order, tsresol)
    header_size = len(out)
    if second_interface:
        block(1, struct.pack(order + "HHI", 101, 0, 65535), [(8, 2)], order)
    endian, first_section = order, True
    for index, frame in enumerate(frames):
        if second_section and index == len(frames) // 2 and index:
            endian, first_section = ">", False
            section(endian, None)
        if custom_block and index == 1:
            block(0x40000BAD, struct.pack(endian + "I", 32473) + b"custom", [(8, 4)], endian)
        timestamp = (1_700_000_000 + index) * 1_000_000
        if simple_packet and index == 0:
            at = block(3, struct.pack(endian + "I", len(frame.data)) + frame.data, [(8, 4)], endian)
            fields.extend((at + 12 + offset, size, ">") for offset, size in frame.fields)
            continue
        interface = 1 if second_interface and index % 2 and first_section else 0
        data, frame_fields = frame.data, frame.fields
        if interface:
            raw = relink(frame, 101)
            data, frame_fields = raw.data, raw.fields
        body = struct.pack(endian + "IIIII", interface, timestamp >> 32, timestamp & 0xFFFFFFFF, len(data),
                           len(data))
        at = block(6, body + data, [(8, 4), (20, 4), (24, 4)], endian)
        fields.extend((at + 28 + offset, size, ">") for offset, size in frame_fields)
    return CaptureFile(bytes(out), fields, header_size)


@st.composite
def capture_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """(format, bytes): a small valid pcap or pcapng file of seed messages, then damaged."""
    messages = draw(st.lists(SMALL_SEEDS, min_size=1, max_size=4))
    frames: list[Frame] = []
    for index, message in enumerate(messages):
        frames += frames_for(message, draw(st.sampled_from(FRAME_KINDS)), index)
    fmt = draw(st.sampled_from(("pcap", "pcapng")))
    order = draw(st.sampled_from("<>"))
    if fmt == "pcap":
        built = build_pcap(frames, nanoseconds=draw(st.booleans()), order=order,
                           link_type=draw(st.sampled_from((1, 1, *LINK_HEADERS))))
    else:
        built = build_pcapng(frames, second_interface=draw(st.booleans()), custom_block=draw(st.booleans()),
                             simple_packet=draw(st.booleans()),
                             tsresol=draw(st.sampled_from((None, 6, 9, 0x80 | 20, 0, 127, 255))),
                             order=order, second_section=draw(st.booleans()))
    data = bytearray(built.data)
    for _ in range(draw(st.integers(0, 4))):
        size = len(data)
        kind = draw(st.sampled_from(("field", "field", "field", "truncate", "flip", "byte", "insert",
                                     "delete", "global_header")))
        if kind == "field":
            offset, width, order = draw(st.sampled_from(built.fields))
            if offset + width > size:
                continue
            fmt_char = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
            old = struct.unpack_from(order + fmt_char, data, offset)[0]
            top = (1 << (8 * width)) - 1
            value = draw(st.sampled_from((0, 1, 4, 12, 16, 20, 28, top, top >> 1, old + 1, old - 1, old + 4,
                                          old - 4, old * 2, old // 2, 262144, 262145, 65535, 65536,
                                          101, 108, 113, 228, 229, 276))   # the last: other link types
                         | st.integers(0, top))
            struct.pack_into(order + fmt_char, data, offset, value & top)
        elif kind == "truncate":
            del data[draw(st.integers(0, size)):]
        elif kind == "flip" and size:
            at = draw(st.integers(0, size - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and size:
            data[draw(st.integers(0, size - 1))] = draw(st.sampled_from(INTERESTING_U8) | st.integers(0, 255))
        elif kind == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete" and size:
            at = draw(st.integers(0, size - 1))
            del data[at:at + draw(st.integers(1, 12))]
        elif kind == "global_header" and size:
            at = draw(st.integers(0, min(size, built.header_size) - 1))
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(patch)] = patch
    return fmt, bytes(data)


class Hang(Exception):
    pass


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail (instead of waiting forever) when the body runs longer than `seconds`."""
    def alarm(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def written(data: bytes, suffix: str) -> Iterator[str]:
    handle, path = tempfile.mkstemp(prefix="ikesniff-fuzz-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield path
    finally:
        os.unlink(path)


def _event(text: str) -> None:
    """Count an outcome in hypothesis' statistics (--hypothesis-show-statistics), when inside a test."""
    if currently_in_test_context():
        event(text)


ITEM_TYPES = (IkeDatagram, EspSighting, IcmpError, FrameProblem)


def read_to_end(path: str, reader: str, batch_size: int | None = None) -> list[Any] | None:
    """Every item `read_capture` yields, or None when it refused the input with a CaptureError.

    CaptureError is accepted only before the first item (with a one-line message); any other
    exception, or a CaptureError after items were yielded, fails the test."""
    stats = CaptureStats()
    items: list[Any] = []
    with hang_guard():
        try:
            iterator = (read_capture(path, stats, reader=reader) if batch_size is None
                        else read_capture(path, stats, reader=reader, batch_size=batch_size))
            for item in iterator:
                assert isinstance(item, ITEM_TYPES), type(item)
                items.append(item)
        except CaptureError as error:
            text = str(error)
            assert not items, f"CaptureError after {len(items)} items: {text}"
            assert text and "\n" not in text, repr(text)
            _event(f"{reader}: refused")
            return None
    datagrams = sum(isinstance(item, IkeDatagram) for item in items)
    problems = sum(isinstance(item, FrameProblem) for item in items)
    _event(f"{reader}: read, {'some' if datagrams else 'no'} IKE datagrams, "
           f"{'some' if problems else 'no'} problems")
    for item in items:
        if isinstance(item, IkeDatagram):
            assert isinstance(item.data, bytes)
            assert item.frame >= 1
            parse_checked(item.data)
        elif isinstance(item, FrameProblem):
            assert isinstance(item.text, str) and item.text
    assert stats.frames >= 0
    return items


READERS = ("libpcap", "python", "auto")


def check_capture(fmt: str, data: bytes, batch_size: int | None = None) -> None:
    with written(data, "." + fmt) as path:
        for reader in READERS:
            read_to_end(path, reader, batch_size)


# Regressions found by this property (fixed in 49f7b03): an Interface Description Block of 12 octets
# (empty body) made the Python reader raise struct.error in files._parse_idb; a pcapng file whose size
# is not a multiple of 4 made files._pcapng_has_frames_without_packets loop forever (reader 'auto').
PCAPNG_SHB = (b"\n\r\r\n\x1c\x00\x00\x00M<+\x1a\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"
              b"\x1c\x00\x00\x00")


@fuzz_settings(1000)
@example(built=("pcapng", PCAPNG_SHB + b"\x01\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00"), batch_size=None)
@example(built=("pcapng", PCAPNG_SHB + b"\x01\x00\x00\x00\x14\x00\x00\x00\x01\x00\x00\x00\x00"),
         batch_size=None)
@given(capture_file(), st.sampled_from((None, None, 1, 2, 3)))
def test_damaged_capture_files_read_to_the_end(built: tuple[str, bytes], batch_size: int | None) -> None:
    """Every reader, with the default batch size or tiny ones (state carried across batches)."""
    check_capture(*built, batch_size=batch_size)


@fuzz_settings(150)
@given(capture_file(), st.data())
def test_damaged_gzip_captures_read_to_the_end(built: tuple[str, bytes], data: st.DataObject) -> None:
    """gzip input goes through the Python reader; a damaged compressed stream must end cleanly too."""
    fmt, raw = built
    packed = bytearray(gzip.compress(raw, mtime=0))
    damage = data.draw(st.sampled_from(("none", "cut", "flip", "garbage after", "second member")),
                       label="damage")
    if damage == "cut":
        del packed[data.draw(st.integers(10, len(packed)), label="cut"):]
    elif damage == "flip":                 # in the deflate data or the CRC/length trailer
        at = data.draw(st.integers(10, len(packed) - 1), label="at")
        packed[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    elif damage == "garbage after":
        packed += data.draw(st.binary(min_size=1, max_size=16), label="garbage")
    elif damage == "second member":
        packed += gzip.compress(raw[:data.draw(st.integers(0, len(raw)), label="second")], mtime=0)
    with written(bytes(packed), f".{fmt}.gz") as path:
        read_to_end(path, "auto")


@fuzz_settings(150)
@given(st.lists(st.tuples(SMALL_SEEDS, st.sampled_from(FRAME_KINDS)), min_size=1, max_size=4),
       st.sampled_from(("pcap", "pcapng")), st.sampled_from("<>"), st.sampled_from((1, *LINK_HEADERS)),
       st.booleans(), st.booleans())
def test_undamaged_builds_give_the_same_datagrams_with_every_reader(plan: list[tuple[bytes, str]], fmt: str,
                                                                      order: str, link_type: int,
                                                                      second_interface: bool,
                                                                      second_section: bool) -> None:
    """Sanity of the builders (and of the readers): an intact file yields the seed messages, and the
    libpcap and Python readers agree on them, whatever the batch size."""
    frames = [frame for index, (message, kind) in enumerate(plan)
              for frame in frames_for(message, kind, index)]
    if fmt == "pcap":
        built = build_pcap(frames, order=order, link_type=link_type)
    else:
        built = build_pcapng(frames, order=order, second_interface=second_interface,
                             second_section=second_section)
    with written(built.data, "." + fmt) as path:
        results = {}
        for reader, batch_size in (*((reader, None) for reader in READERS), ("python", 1), ("libpcap", 2)):
            items = read_to_end(path, reader, batch_size)
            assert items is not None
            assert not [i for i in items if isinstance(i, FrameProblem)], items
            results[reader, batch_size] = [(i.frame, i.data, i.transport) for i in items
                                           if isinstance(i, IkeDatagram)]
    expected = [message for message, kind in plan if kind not in NO_DATAGRAM_KINDS]
    assert [data for _, data, _ in results["python", None]] == expected
    first = results["python", None]
    assert all(result == first for result in results.values()), results


# --- the whole analysis in-process, then the CLI in a subprocess -------------------------------------
@fuzz_settings(500)
@given(capture_file())
def test_analysis_of_damaged_captures_never_raises(built: tuple[str, bytes]) -> None:
    """What `ikesniff -r F --json` does, in-process: capture, dissect, Cisco reassembly, tracker, JSON."""
    import io

    from ikesniff.analysis import Analysis, DecodedMessage
    from ikesniff.output import JsonLinesWriter, message_line

    fmt, data = built
    with written(data, "." + fmt) as path, hang_guard():
        analysis = Analysis()
        sink = io.BytesIO()
        writer = JsonLinesWriter(sink)
        seen = 0
        try:
            for item in analysis.run(path):
                seen += 1
                if isinstance(item, DecodedMessage):
                    writer.write(item.event)
                    assert isinstance(message_line(item.event, 0.0), str)      # the default output
                    _render(item.message)                                       # -v
        except CaptureError as error:
            assert seen == 0 and "\n" not in str(error)
        writer.flush()
    for line in sink.getvalue().splitlines():
        assert json.loads(line)["event"] == "message"


def run_cli(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ikesniff", "-r", path, "--json"], check=False,
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "IKESNIFF_DEBUG": ""})


def check_cli(fmt: str, data: bytes) -> None:
    with written(data, "." + fmt) as path:
        result = run_cli(path)
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    assert "internal error" not in result.stderr, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("event" in event for event in events)
    if result.returncode == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ikesniff: "), result.stderr
    else:
        assert events and events[-1]["event"] == "summary"


@fuzz_settings(8)
@given(capture_file())
def test_cli_on_damaged_captures(built: tuple[str, bytes]) -> None:
    check_cli(*built)


def test_cli_on_hand_damaged_captures() -> None:
    """Three fixed damages, so the CLI path is covered whatever hypothesis draws."""
    message = valid_seeds()[0]
    pcap = build_pcap(frames_for(message, "v4") + frames_for(message, "frag", 1)).data
    check_cli("pcap", pcap[:-7])                                   # the last record cut short
    check_cli("pcap", pcap[:24] + b"\xff" * 16 + pcap[40:])         # the first record header destroyed
    check_cli("pcapng", b"\x0a\x0d\x0d\x0a" + b"\0" * 20)          # a section header and nothing sane
    result = subprocess.run([sys.executable, "-m", "ikesniff", "-r", "-", "--json"], check=False,
                            input=pcap[:-7], capture_output=True, timeout=60, cwd=REPO)   # the same, on stdin
    assert result.returncode in (0, 1) and b"Traceback" not in result.stderr, result.stderr
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()][-1] == "summary"


@pytest.mark.parametrize("version", (1, 2))
def test_largest_messages_of_minimal_payloads_do_not_hang(version: int) -> None:
    """A 64 KB message of 8000 empty payloads of one type, for every type: linear work, no hang."""
    for payload_type in PAYLOAD_TYPES[1:]:
        chain = b"".join(struct.pack("!BBH", payload_type if index < 7999 else 0, 0, 8) + b"\0" * 4
                         for index in range(8000))
        header = struct.pack("!BBBBII", payload_type, version << 4, 34 if version == 2 else 2, 0, 0,
                             ISAKMP_HEADER_LENGTH + len(chain))
        data = b"\1" * 8 + bytes(8) + header + chain
        with hang_guard():
            message = dissectors.parse_message(data)
        assert message.payloads and message.payloads[-1].offset + message.payloads[-1].length <= len(data)

