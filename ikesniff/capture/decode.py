"""The scalar path: one frame at a time, for the few frames the classifier could not settle.

These are IP fragments (reassembled here), IPv6 packets with extension headers (walked here), TCP
segments on an IKE port (RFC 8229 streams), ICMP errors (do they quote an IKE packet?), and IKE-port
datagrams too short or too odd for the vectorised path. The rules are the classifier's (`PortPlan`),
written for one packet; what comes out is events (`IkeDatagram`, `IcmpError`, `FrameProblem`) and
ESP/AH observations for the flow accounting.

Wireshark's behaviour is followed where it decides what a user sees: a fragment is reassembled only
when the capture holds all of it; a first fragment cut short by the snap length is dissected as it is
(flagged `truncated`), later ones are not; a reassembled datagram appears at the completing frame.

This module knows nothing of files or batches.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .classify import (
    AF_INET,
    AF_INET6_VALUES,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ETHERTYPE_PPPOE_SESSION,
    LINK_ETHERNET,
    LINK_IPV4,
    LINK_IPV6,
    LINK_LOOP,
    LINK_NULL,
    LINK_RAW_ALIASES,
    LINK_SLL,
    LINK_SLL2,
    MAX_VLAN_TAGS,
    PORT_ISAKMP,
    PORT_NAT_T,
    PPP_IPV4,
    PPP_IPV6,
    PROTO_AH,
    PROTO_ESP,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    VLAN_TPIDS,
    PortPlan,
)
from .events import CaptureStats, FrameProblem, IcmpError, IkeDatagram
from .flows import AddressNames, Observation
from .reassembly import FragmentReassembler, GivenUp
from .tcpencap import TcpEncapsulation

Item = IkeDatagram | IcmpError | FrameProblem

IPV6_GENERIC_EXTENSIONS = frozenset({0, 43, 60, 135, 139, 140, 253, 254})
ETHERNET_LIKE = {LINK_ETHERNET: (12, 14), LINK_SLL: (14, 16), LINK_SLL2: (0, 20)}
"""Link types with an Ethernet type field: (where the type is, where IP starts)."""
VERSION_OF_ETHERTYPE = {ETHERTYPE_IPV4: 4, ETHERTYPE_IPV6: 6}
ETHERTYPE_OF_PPP = {PPP_IPV4: ETHERTYPE_IPV4, PPP_IPV6: ETHERTYPE_IPV6}
IPV6_FRAGMENT = 44
MARKER = b"\0\0\0\0"
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_PORTS = struct.Struct("!HH")

ICMP_UNREACHABLE = {
    0: "network unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
    5: "source route failed", 6: "destination network unknown", 7: "destination host unknown",
    8: "source host isolated", 9: "network administratively prohibited",
    10: "host administratively prohibited", 11: "network unreachable for type of service",
    12: "host unreachable for type of service", 13: "communication administratively prohibited",
    14: "host precedence violation", 15: "precedence cutoff in effect",
}
ICMP_TIME_EXCEEDED = {0: "time to live exceeded in transit", 1: "fragment reassembly time exceeded"}
ICMPV6_UNREACHABLE = {
    0: "no route to destination", 1: "communication administratively prohibited", 2: "beyond scope of source address",
    3: "address unreachable", 4: "port unreachable", 5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}
ICMPV6_TIME_EXCEEDED = {0: "hop limit exceeded in transit", 1: "fragment reassembly time exceeded"}


@dataclass(slots=True)
class _Fragment:
    """What the reassembler is told about an IKE-relevant datagram (from its first fragment)."""

    src: str
    dst: str
    sport: int
    dport: int
    protocol: str


def icmp_description(version: int, kind: int, code: int, rest: bytes) -> str | None:
    """Text for an ICMP/ICMPv6 error, or None when the message is not an error we report."""
    if version == 4:
        if kind == 3:
            if code == 4:
                return f"fragmentation needed (MTU {_U16.unpack_from(rest, 2)[0]})"
            return ICMP_UNREACHABLE.get(code, f"destination unreachable (code {code})")
        if kind == 11:
            return ICMP_TIME_EXCEEDED.get(code, f"time exceeded (code {code})")
        return None
    if kind == 1:
        return ICMPV6_UNREACHABLE.get(code, f"destination unreachable (code {code})")
    if kind == 2:
        return f"packet too big (MTU {_U32.unpack_from(rest)[0]})"
    if kind == 3:
        return ICMPV6_TIME_EXCEEDED.get(code, f"time exceeded (code {code})")
    return None


class ScalarDecoder:
    """Decodes single frames; keeps the reassembly and TCP state between them."""

    def __init__(self, plan: PortPlan, stats: CaptureStats, names: AddressNames) -> None:
        self.plan = plan
        self.stats = stats
        self.names = names
        self.reassembler = FragmentReassembler()
        self.tcp = TcpEncapsulation()
        self.out: list[tuple[int, Item]] = []
        """Events produced, (frame, event), in frame order; the caller empties it."""
        self.observations: list[Observation] = []
        """ESP/AH packets seen here; the caller empties it."""

    # --- helpers --------------------------------------------------------------------------------------
    def problem(self, frame: int, time: float, text: str, frames: tuple[int, ...] = ()) -> None:
        self.stats.problems += 1
        self.out.append((frame, FrameProblem(frame, time, text, frames)))

    def _address(self, packed: bytes) -> str:
        return self.names.packed(packed)

    def _where(self, protocol: str, src: bytes, sport: int, dst: bytes, dport: int) -> str:
        return f"{protocol} {self._address(src)}:{sport} > {self._address(dst)}:{dport}"

    def report_given_up(self, given_up: GivenUp, frame: int, time: float) -> None:
        stats = self.stats
        if given_up.reason == "timeout":
            stats.reassembly_timeouts += 1
        elif given_up.reason == "limit":
            stats.reassembly_dropped += 1
        else:
            stats.reassembly_incomplete += 1
        fragment = given_up.report
        if not isinstance(fragment, _Fragment):
            return
        why = {"timeout": f"not completed within {self.reassembler.timeout:g} s (reassembly timeout)",
               "limit": "given up (reassembly buffer limit)",
               "incomplete": "still incomplete at the end of the capture"}[given_up.reason]
        frames = ", ".join(str(f) for f in given_up.frames)
        self.problem(frame, time, f"IP fragments of a {fragment.protocol} datagram {fragment.src}:{fragment.sport} > "
                     f"{fragment.dst}:{fragment.dport} (frames {frames}) {why}", given_up.frames)

    def drain_given_up(self, frame: int, time: float) -> None:
        given_up = self.reassembler.given_up
        if given_up:
            self.reassembler.given_up = []
            for entry in given_up:
                self.report_given_up(entry, frame, time)

    # --- link and network layers ------------------------------------------------------------------------
    def decode(self, link_type: int, packet: bytes, frame: int, time: float) -> None:
        version, offset = self._link(link_type, packet)
        if version == 4:
            self._ipv4(packet, offset, frame, time)
        elif version == 6:
            self._ipv6(packet, offset, frame, time)

    @staticmethod
    def _link(link_type: int, packet: bytes) -> tuple[int, int]:
        size = len(packet)
        if link_type in ETHERNET_LIKE:
            type_at, offset = ETHERNET_LIKE[link_type]
            if size < type_at + 2:
                return 0, 0
            ethertype = _U16.unpack_from(packet, type_at)[0]
            for _ in range(MAX_VLAN_TAGS):
                if ethertype not in VLAN_TPIDS or size < offset + 4:
                    break
                ethertype = _U16.unpack_from(packet, offset + 2)[0]
                offset += 4
            if ethertype == ETHERTYPE_PPPOE_SESSION and size >= offset + 8:
                protocol = _U16.unpack_from(packet, offset + 6)[0]
                ethertype = ETHERTYPE_OF_PPP.get(protocol, 0)
                offset += 8
            return VERSION_OF_ETHERTYPE.get(ethertype, 0), offset
        if link_type in LINK_RAW_ALIASES:
            version = packet[0] >> 4 if size else 0
            return (version if version in (4, 6) else 0), 0
        if link_type == LINK_IPV4:
            return 4, 0
        if link_type == LINK_IPV6:
            return 6, 0
        if link_type in (LINK_NULL, LINK_LOOP):
            if size < 4:
                return 0, 0
            family = _U32.unpack_from(packet)[0]
            if link_type == LINK_NULL and family > 0xFFFF:
                family = struct.unpack_from("<I", packet)[0]
            return (4 if family == AF_INET else 6 if family in AF_INET6_VALUES else 0), 4
        return 0, 0

    def _ipv4(self, packet: bytes, offset: int, frame: int, time: float) -> None:
        size = len(packet)
        if size < offset + 20 or packet[offset] >> 4 != 4:
            self.stats.undecodable_frames += 1
            return
        header = (packet[offset] & 15) * 4
        total = _U16.unpack_from(packet, offset + 2)[0] or size - offset
        if header < 20 or size < offset + header or total < header:
            self.stats.undecodable_frames += 1
            return
        fragment_word = _U16.unpack_from(packet, offset + 6)[0]
        protocol = packet[offset + 9]
        src, dst = packet[offset + 12:offset + 16], packet[offset + 16:offset + 20]
        end = min(size, offset + total)
        payload = packet[offset + header:end]
        if fragment_word & 0x3FFF:
            identification = _U16.unpack_from(packet, offset + 4)[0]
            self._fragment((4, src, dst, protocol, identification), 4, src, dst, protocol,
                           (fragment_word & 0x1FFF) * 8, bool(fragment_word & 0x2000), payload, total - header,
                           frame, time)
            return
        self._transport(4, src, dst, protocol, payload, total - header, frame, time)

    def _ipv6(self, packet: bytes, offset: int, frame: int, time: float) -> None:
        size = len(packet)
        if size < offset + 40 or packet[offset] >> 4 != 6:
            self.stats.undecodable_frames += 1
            return
        payload_length = _U16.unpack_from(packet, offset + 4)[0]
        next_header = packet[offset + 6]
        src, dst = packet[offset + 8:offset + 24], packet[offset + 24:offset + 40]
        reported_end = offset + 40 + payload_length if payload_length else size   # 0: jumbogram
        end = min(size, reported_end)
        position = offset + 40
        while True:
            if next_header in IPV6_GENERIC_EXTENSIONS:
                if position + 8 > end:
                    return
                next_header, position = packet[position], position + (packet[position + 1] + 1) * 8
                continue
            if next_header == IPV6_FRAGMENT:
                if position + 8 > end:
                    return
                inner = packet[position]
                word = _U16.unpack_from(packet, position + 2)[0]
                identification = _U32.unpack_from(packet, position + 4)[0]
                position += 8
                if word & 0xFFF9 == 0:
                    next_header = inner                  # an atomic fragment (RFC 6946): not fragmented
                    continue
                self._fragment((6, src, dst, identification), 6, src, dst, inner, word & 0xFFF8, bool(word & 1),
                               packet[position:end], reported_end - position, frame, time)
                return
            break
        if position > end:
            return
        self._transport(6, src, dst, next_header, packet[position:end], reported_end - position, frame, time)

    def _fragment(self, key: tuple[object, ...], version: int, src: bytes, dst: bytes, protocol: int, offset: int,
                  more: bool, payload: bytes, reported: int, frame: int, time: float) -> None:
        self.stats.ip_fragments += 1
        if protocol not in (PROTO_UDP, PROTO_TCP):
            if offset == 0:                              # ESP/AH: counted once, from the first fragment
                self._transport(version, src, dst, protocol, payload, reported, frame, time)
            return
        if len(payload) < reported:
            # Not all of it captured: Wireshark does not reassemble; it dissects a first fragment as it is.
            if offset == 0:
                self._transport(version, src, dst, protocol, payload, reported, frame, time, truncated=True)
            return
        report = None
        if offset == 0 and len(payload) >= 4:
            sport, dport = _PORTS.unpack_from(payload)
            ike = self.plan.udp(sport, dport) if protocol == PROTO_UDP else self.plan.tcp(sport, dport)
            if ike:
                report = _Fragment(self._address(src), self._address(dst), sport, dport,
                                   "UDP" if protocol == PROTO_UDP else "TCP")
        done = self.reassembler.add(key, offset, more, bytes(payload), frame, time, report)
        self.drain_given_up(frame, time)
        if done is not None:
            self.stats.reassembled_datagrams += 1
            self._transport(version, src, dst, protocol, done.data, len(done.data), frame, time, done.frames)

    # --- transport layer ------------------------------------------------------------------------------
    def _transport(self, version: int, src: bytes, dst: bytes, protocol: int, payload: bytes, reported: int,
                   frame: int, time: float, frames: tuple[int, ...] = (), truncated: bool = False) -> None:
        if protocol == PROTO_UDP:
            self._udp(src, dst, payload, reported, frame, time, frames, truncated)
        elif protocol == PROTO_TCP:
            self._tcp(src, dst, payload, reported, frame, time, frames)
        elif protocol == PROTO_ESP:
            if len(payload) >= 4:
                self.stats.esp_packets += 1
                self.observations.append(Observation(_U32.unpack_from(payload)[0], self._address(src),
                                                     self._address(dst), "esp", 0, 0, frame, time))
        elif protocol == PROTO_AH:
            if len(payload) >= 8:
                self.stats.ah_packets += 1
                self.observations.append(Observation(_U32.unpack_from(payload, 4)[0], self._address(src),
                                                     self._address(dst), "ah", 0, 0, frame, time))
        elif (protocol == PROTO_ICMP and version == 4) or (protocol == PROTO_ICMPV6 and version == 6):
            self._icmp(version, src, dst, payload, frame, time)

    def _udp(self, src: bytes, dst: bytes, payload: bytes, reported: int, frame: int, time: float,
             frames: tuple[int, ...], truncated: bool) -> None:
        if len(payload) < 4:
            return
        sport, dport = _PORTS.unpack_from(payload)
        kind = self.plan.udp(sport, dport)
        if not kind:
            return
        if len(payload) < 8:
            self.problem(frame, time, f"{self._where('UDP', src, sport, dst, dport)}: UDP header cut short by "
                         "the capture")
            return
        udp_length = _U16.unpack_from(payload, 4)[0]
        if udp_length < 8:
            self.problem(frame, time, f"{self._where('UDP', src, sport, dst, dport)}: UDP length field "
                         f"{udp_length} is less than 8")
            return
        length = min(udp_length, reported) - 8
        data = payload[8:8 + length]
        truncated = truncated or len(data) < length
        if kind != PORT_ISAKMP and length == 1 and data == b"\xff":
            self.stats.nat_keepalives += 1
            return
        marker = data[:4] == MARKER
        if kind == PORT_NAT_T and not marker:
            if len(data) >= 4:
                self.stats.esp_in_udp_packets += 1
                self.observations.append(Observation(_U32.unpack_from(data)[0], self._address(src),
                                                     self._address(dst), "udp-encap", sport, dport, frame, time))
            else:
                self.problem(frame, time, f"{self._where('UDP', src, sport, dst, dport)}: {len(data)} octets of "
                             "payload: neither a NAT keepalive, a non-ESP marker nor ESP"
                             + (" (cut short by the capture)" if truncated else ""))
            return
        transport = "udp"
        if marker and kind != PORT_ISAKMP:
            data, transport = data[4:], "udp-encap"
        self.stats.ike_datagrams += 1
        self.out.append((frame, IkeDatagram(
            frame=frame, time=time, src=self._address(src), sport=sport, dst=self._address(dst), dport=dport,
            transport=transport, data=bytes(data), frames=frames, truncated=truncated)))

    def _tcp(self, src: bytes, dst: bytes, payload: bytes, reported: int, frame: int, time: float,
             frames: tuple[int, ...]) -> None:
        if len(payload) < 4:
            return
        sport, dport = _PORTS.unpack_from(payload)
        if not self.plan.tcp(sport, dport):
            return
        where = self._where("TCP", src, sport, dst, dport)
        if len(payload) < 20:
            self.problem(frame, time, f"{where}: TCP header cut short by the capture")
            return
        seq = _U32.unpack_from(payload, 4)[0]
        header = (payload[12] >> 4) * 4
        flags = payload[13]
        if header < 20 or header > len(payload):
            self.problem(frame, time, f"{where}: bad TCP header length {header}")
            return
        data = payload[header:reported]
        if len(data) < reported - header:
            self.problem(frame, time, f"{where}: TCP segment cut short by the capture; its stream cannot be followed")
            data = b""
        events = self.tcp.segment(src, sport, dst, dport, seq, flags, bytes(data), frame, time)
        for record in events.records:
            if record.data[:4] == MARKER:
                self.stats.tcp_ike_records += 1
                self.stats.ike_datagrams += 1
                carried = () if record.frames == (frame,) else record.frames
                self.out.append((frame, IkeDatagram(
                    frame=frame, time=time, src=self._address(src), sport=sport, dst=self._address(dst), dport=dport,
                    transport="tcp-encap", data=record.data[4:], frames=carried)))
            else:
                self.stats.esp_in_tcp_packets += 1
                self.observations.append(Observation(_U32.unpack_from(record.data)[0], self._address(src),
                                                     self._address(dst), "tcp-encap", sport, dport, frame, time))
        for text in events.problems:
            self.problem(frame, time, f"{where}: {text}")

    def _icmp(self, version: int, src: bytes, dst: bytes, payload: bytes, frame: int, time: float) -> None:
        if len(payload) < 8:
            return
        kind, code = payload[0], payload[1]
        description = icmp_description(version, kind, code, payload[4:8])
        if description is None:
            return
        quoted = payload[8:]
        if version == 4:
            if len(quoted) < 20 or quoted[0] >> 4 != 4:
                return
            header = (quoted[0] & 15) * 4
            protocol = quoted[9]
            inner_src, inner_dst = quoted[12:16], quoted[16:20]
            ports_at = header
            if _U16.unpack_from(quoted, 6)[0] & 0x1FFF:
                return                                   # a later fragment: no ports to read
        else:
            if len(quoted) < 40 or quoted[0] >> 4 != 6:
                return
            protocol = quoted[6]
            inner_src, inner_dst = quoted[8:24], quoted[24:40]
            ports_at = 40
        if protocol not in (PROTO_UDP, PROTO_TCP) or len(quoted) < ports_at + 4:
            return
        sport, dport = _PORTS.unpack_from(quoted, ports_at)
        if sport not in self.plan.ports and dport not in self.plan.ports:
            return
        self.out.append((frame, IcmpError(frame, time, self._address(src), self._address(dst), kind, code,
                                          description, self._address(inner_src), self._address(inner_dst),
                                          sport, dport)))

    # --- end of input ---------------------------------------------------------------------------------
    def finish(self, frame: int, time: float) -> None:
        self.reassembler.finish()
        self.drain_given_up(frame, time)
        for text in self.tcp.finish():
            self.problem(frame, time, text)
