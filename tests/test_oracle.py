"""tshark is the oracle: on every committed and shared capture, tshark and `ikesniff --json` agree
frame by frame on both SPIs, version, exchange type, message id, ISAKMP length and notify types.

Where tshark 4.0 is provably wrong, DISAGREEMENTS names the frame and a check whose docstring gives
the reason; the check must still hold, so a fixed tshark (or a changed ikesniff) shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from oracle import CORPUS, REPO, FrameFields, captures, have_tshark, ikesniff_frames, tshark_frames

pytestmark = [pytest.mark.oracle,
              pytest.mark.skipif(not have_tshark(), reason="tshark is not installed (make setup installs it)")]



def _header_dropped(theirs: FrameFields | None, ours: FrameFields | None) -> bool:
    """tshark 4.0 does not dissect a header whose length field is below 28 (RFC 7296 §3.1 and
    RFC 2408 §3.1: the length counts the 28-octet header); ikesniff reports it with an error."""
    return theirs is None and ours is not None and len(ours.length) == 1 and ours.length[0] < 28


def _fields_missing(theirs: FrameFields | None, ours: FrameFields | None) -> bool:
    """tshark stops early (unknown major version, or a BoundError in an unreassembled first IP
    fragment) and leaves out the exchange type and/or length; the octets are in the capture at
    the fixed offsets of RFC 2408 §3.1 and ikesniff reports them. Every field tshark did report agrees."""
    if theirs is None or ours is None:
        return False
    for name in ("spi_i", "spi_r", "version", "message_id", "notify_types", "exchange_type", "length"):
        theirs_value, ours_value = getattr(theirs, name), getattr(ours, name)
        if theirs_value and theirs_value != ours_value:
            return False
    return not theirs.length or not theirs.exchange_type


def _reassembled_out_of_order(theirs: FrameFields | None, ours: FrameFields | None) -> bool:
    """Cisco IKE fragments arriving in reverse order: tshark 4.0 lists the complete set
    (isakmp.fragment) but dissects the reassembled message only when the fragment flagged last
    arrives last; ikesniff dissects it as soon as the set is complete, as a second message."""
    if theirs is None or ours is None or len(ours.length) != 2:
        return False
    first = FrameFields(*(getattr(ours, name)[:1] for name in
                          ("spi_i", "spi_r", "version", "exchange_type", "message_id", "length")),
                        notify_types=ours.notify_types)
    return first == theirs


def _not_ike(theirs: FrameFields | None, ours: FrameFields | None) -> bool:
    """Datagrams on UDP 500/4500 that are not IKE (pcaps/noise/dns-on-500.json): a DNS and an NTP reply (tshark:
    DNS, NTP), random octets, an ISAKMP header whose length runs past the datagram, version 3.0, and junk after a
    non-ESP marker (tshark: ISAKMP, malformed or with unknown version). Issue 11: a counted decode error, never an
    IKE message."""
    return ours is None


def _implausible(theirs: FrameFields | None, ours: FrameFields | None) -> bool:
    """Fuzzed datagrams on UDP 500 (tcpdump's out-of-bounds-read tests) whose header is no plausible IKE: an
    ISAKMP version other than 1.0/2.0, an exchange type outside its version's registry, or a length that runs
    past any datagram. tshark dissects them as ISAKMP anyway; ikesniff counts them as decode errors, never
    messages (issue 11: not IKE is never a message, an SA or a tunnel)."""
    if ours is not None or theirs is None:
        return False
    from dissectors import ikev1_registry, ikev2_registry
    version = theirs.version[0] if theirs.version else None
    registry = {1: ikev1_registry, 2: ikev2_registry}.get(version) if isinstance(version, int) else None
    exchange = theirs.exchange_type[0] if theirs.exchange_type else None
    return registry is None or exchange not in registry.EXCHANGE_TYPES or not theirs.length \
        or theirs.length[0] > 65535


# (capture relative to its root, frame) -> the check that proves the named tshark shortcoming
DISAGREEMENTS: dict[tuple[str, int], Callable[[FrameFields | None, FrameFields | None], bool]] = {
    ("tcpdump/isakmp-pointer-loop.pcap", 1): _header_dropped,
    ("zeek-spicy-ipsec/ipsec-ikev1-zero-length.pcap", 1): _header_dropped,
    ("tcpdump/isakmp-delete-segfault.pcap", 1): _implausible,
    ("tcpdump/isakmp-ikev1_n_print-oobr.pcap", 1): _implausible,
    ("tcpdump/isakmp-ikev1_n_print-oobr.pcap", 3): _implausible,
    ("tcpdump/isakmp-various-oobr.pcap", 1): _implausible,
    ("tcpdump/ikev1_id_ipv6_addr_subnet-oobr.pcap", 1): _implausible,
    ("tcpdump/isakmpv1-attr-oobr.pcap", 1): _implausible,
    ("wireshark-wiki/test1.pcap", 23): _reassembled_out_of_order,
    ("wireshark-wiki/test1.pcap", 31): _reassembled_out_of_order,
    **{("noise/dns-on-500.pcap", frame): _not_ike for frame in range(11, 17)},
}


def _name(path: Path) -> str:
    for root in (CORPUS, REPO / "pcaps"):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


CAPTURES = captures()


def test_the_oracle_sees_every_capture() -> None:
    corpus = [p for p in CAPTURES if p.is_relative_to(CORPUS)]
    assert len(corpus) >= 60, f"only {len(corpus)} corpus captures found under {CORPUS}"


@pytest.mark.parametrize("path", CAPTURES, ids=_name)
def test_ikesniff_agrees_with_tshark_frame_by_frame(path: Path) -> None:
    theirs = tshark_frames(path)
    ours, _ = ikesniff_frames(path)
    name = _name(path)
    problems = []
    for frame in sorted(set(theirs) | set(ours)):
        expected, got = theirs.get(frame), ours.get(frame)
        known = DISAGREEMENTS.get((name, frame))
        if known is not None:
            assert known(expected, got), f"{name} frame {frame}: no longer {known.__name__}: " \
                f"tshark {expected}, ikesniff {got}"
            continue
        if got != expected:
            problems.append(f"frame {frame}: tshark {asdict(expected) if expected else None} "
                            f"!= ikesniff {asdict(got) if got else None}")
    assert not problems, f"{name}:\n" + "\n".join(problems[:20])
