"""Vectorised triage of a batch of frames: which are IKE, which are ESP, which need a closer look.

Theory of operation. A capture of a busy gateway is almost all ESP and unrelated traffic; the IKE
packets that matter are one in a hundred or fewer. Python costs about a microsecond per packet touched,
so the bulk must never reach Python code one packet at a time. Instead every header field the triage
needs is read for all frames of a batch at once with numpy: the batch's bytes are seen as arrays of
big-endian 8/16/32/64-bit words starting at *every* octet (strided views, no copy), and a field is
read for all frames by one gather at computed positions. Each layer (link, IP, UDP/TCP, ESP) is one
small function that takes the positions found by the layer below and returns positions and masks.

The outcome sorts each frame into one of:

* skipped: not IP, not IKE/ESP/AH related (counted only);
* ESP / ESP-in-UDP / AH: its SPI and addresses go to the flow aggregation (`flows.py`), exactly
  counted, never one by one in Python;
* NAT keepalive: counted;
* simple IKE: a whole UDP datagram to or from an IKE port; the positions computed here are all the
  scalar code needs to cut out the ISAKMP bytes (no header is parsed twice);
* scalar: anything needing state or care (IP fragments, IPv6 extension headers, TCP on an IKE port,
  ICMP errors, IKE-port datagrams too short to classify): `decode.py` handles those one by one.

Wireshark is the reference for what counts as IKE (see `PortPlan`).

This module knows nothing of files, of IKE message syntax or of the events handed on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .batches import Batch

Positions = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# Link types (LINKTYPE_* of the pcap/pcapng formats; libpcap's DLT_RAW 12 and 14 included).
LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP, LINK_SLL, LINK_SLL2 = 0, 1, 101, 108, 113, 276
LINK_RAW_ALIASES = (LINK_RAW, 12, 14)
LINK_IPV4, LINK_IPV6 = 228, 229
SUPPORTED_LINK_TYPES = frozenset({LINK_NULL, LINK_ETHERNET, LINK_LOOP, LINK_SLL, LINK_SLL2, LINK_IPV4,
                                  LINK_IPV6, *LINK_RAW_ALIASES})

ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PPPOE_SESSION = 0x0800, 0x86DD, 0x8864
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
"""802.1Q, 802.1ad (QinQ outer tag) and the older QinQ TPID; tags may be stacked."""
MAX_VLAN_TAGS = 4
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057

# BSD loopback address families (DLT_NULL in host byte order, DLT_LOOP in network byte order).
AF_INET = 2
AF_INET6_VALUES = (10, 24, 28, 30)
"""Linux, NetBSD/OpenBSD, FreeBSD, macOS/Darwin."""

PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ESP, PROTO_AH, PROTO_ICMPV6 = 1, 6, 17, 50, 51, 58
IPV6_EXTENSION_HEADERS = (0, 43, 44, 60, 135, 139, 140, 253, 254)
"""Hop-by-hop, routing, fragment, destination options, mobility, HIP, shim6, experimental: walked by
the scalar decoder. (AH, 51, is counted here like ESP: the SPI sits at the same place in both versions.)"""

ICMP_ERROR_TYPES = (3, 11)       # destination unreachable (incl. fragmentation needed), time exceeded
ICMPV6_ERROR_TYPES = (1, 2, 3)   # destination unreachable, packet too big, time exceeded


def _table(size: int, members: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """A membership table: one gather answers "is x in members" for a whole array (np.isin sorts)."""
    table = np.zeros(size, dtype=np.bool_)
    table[list(members)] = True
    return table


IS_VLAN_TPID = _table(65536, VLAN_TPIDS)
IS_IPV6_EXTENSION = _table(256, IPV6_EXTENSION_HEADERS)
IS_ICMP_ERROR = _table(256, ICMP_ERROR_TYPES)
IS_ICMPV6_ERROR = _table(256, ICMPV6_ERROR_TYPES)

# How a UDP port is read (see PortPlan).
PORT_NOT_IKE, PORT_ISAKMP, PORT_NAT_T, PORT_EITHER = 0, 1, 2, 3

# Transport codes of ESP flows (index into FLOW_TRANSPORTS).
FLOW_ESP, FLOW_UDP_ENCAP, FLOW_TCP_ENCAP, FLOW_AH = 0, 1, 2, 3
FLOW_TRANSPORTS = ("esp", "udp-encap", "tcp-encap", "ah")


@dataclass(slots=True)
class PortPlan:
    """What a UDP or TCP port means, as lookup tables indexed by port number.

    UDP, as Wireshark decides: the payload goes to the dissector of the lower port first, so a
    datagram between ports 500 and 4500 is read as plain ISAKMP (500 wins), and between 4500 and an
    ephemeral port through the NAT-T rules of 4500. Port 500: the payload is ISAKMP. Port 4500: a
    one-octet 0xFF is a NAT keepalive, four zero octets (the non-ESP marker) precede ISAKMP, anything
    else is ESP whose SPI is the first four octets (RFC 3948). Any other port the user names: the
    4500 rules when the marker is there (or for a keepalive), the 500 rules otherwise.

    TCP: RFC 8229 streams on every IKE port except 500 (Wireshark reads TCP 500 as bare ISAKMP,
    which no implementation sends; it is ignored).
    """

    udp_kind: npt.NDArray[np.uint8]
    tcp_ike: npt.NDArray[np.bool_]
    ports: frozenset[int]
    udp_kinds: bytes
    """`udp_kind` again, for the scalar decoder (indexing bytes is cheaper than indexing numpy)."""
    tcp_ports: bytes
    """`tcp_ike` again, likewise."""

    @classmethod
    def for_ports(cls, ike_ports: frozenset[int]) -> PortPlan:
        udp_kind = np.zeros(65536, dtype=np.uint8)
        tcp_ike = np.zeros(65536, dtype=np.bool_)
        for port in ike_ports:
            if not 0 < port < 65536:
                continue
            udp_kind[port] = PORT_ISAKMP if port == 500 else PORT_NAT_T if port == 4500 else PORT_EITHER
            tcp_ike[port] = port != 500
        return cls(udp_kind, tcp_ike, frozenset(ike_ports), udp_kind.tobytes(), tcp_ike.tobytes())

    def udp(self, sport: int, dport: int) -> int:
        """The scalar twin of `_udp_port_kind`."""
        kinds = self.udp_kinds
        source, destination = kinds[sport], kinds[dport]
        if source and destination:
            return kinds[min(sport, dport)]
        return source or destination

    def tcp(self, sport: int, dport: int) -> bool:
        return bool(self.tcp_ports[sport] or self.tcp_ports[dport])


class ByteView:
    """Big-endian words at every octet of a buffer, read for many positions at once.

    `u16(p)` is the 16-bit big-endian value at octet p of the buffer, for an array p. The wider
    views are numpy arrays whose stride is one octet (itemsize 2, 4 or 8), so no copy is made, and a
    read is one fancy-indexing gather. Positions past the end are clipped (the value is then
    meaningless, which the caller's length checks exclude).
    """

    __slots__ = ("_u8", "_u16", "_u32", "_u64", "data", "size")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) < 16:
            data = bytes(data) + bytes(16)
        size = len(data)
        self.data = data
        self.size = size
        self._u8 = np.frombuffer(data, dtype=np.uint8)
        self._u16 = np.ndarray((size - 1,), dtype=">u2", buffer=data, offset=0, strides=(1,))
        self._u32 = np.ndarray((size - 3,), dtype=">u4", buffer=data, offset=0, strides=(1,))
        self._u64 = np.ndarray((size - 7,), dtype=">u8", buffer=data, offset=0, strides=(1,))

    # A read that lies inside the buffer is never clipped; one that does not gets a meaningless value.
    def u8(self, positions: Positions) -> npt.NDArray[np.int64]:
        return self._u8[np.minimum(positions, self.size - 1)].astype(np.int64)

    def u16(self, positions: Positions) -> npt.NDArray[np.int64]:
        return self._u16[np.minimum(positions, self.size - 2)].astype(np.int64)

    def u32(self, positions: Positions) -> npt.NDArray[np.uint32]:
        return self._u32[np.minimum(positions, self.size - 4)].astype(np.uint32)

    def u64(self, positions: Positions) -> npt.NDArray[np.uint64]:
        return self._u64[np.minimum(positions, self.size - 8)].astype(np.uint64)


@dataclass(slots=True)
class IkeCandidates:
    """Whole UDP datagrams to or from an IKE port, ready to be cut out (all arrays aligned)."""

    index: Positions
    version: npt.NDArray[np.int64]
    network: Positions
    """Where the IP header starts (for the addresses)."""
    start: Positions
    """First octet of the ISAKMP bytes (after the non-ESP marker for NAT-T)."""
    length: npt.NDArray[np.int64]
    """ISAKMP octets present in the capture."""
    truncated: Mask
    sport: npt.NDArray[np.int64]
    dport: npt.NDArray[np.int64]
    encapsulated: Mask
    """True for 'udp-encap' (non-ESP marker removed), False for 'udp'."""


@dataclass(slots=True)
class FlowPackets:
    """ESP/AH packets of a batch (arrays aligned), to be aggregated per SPI and addresses."""

    index: Positions
    spi: npt.NDArray[np.uint32]
    version: npt.NDArray[np.int64]
    network: Positions
    sport: npt.NDArray[np.int64]
    dport: npt.NDArray[np.int64]
    transport: npt.NDArray[np.int64]
    """FLOW_ESP, FLOW_UDP_ENCAP or FLOW_AH."""


@dataclass(slots=True)
class Triage:
    """The outcome of `classify` for one batch."""

    ike: IkeCandidates
    scalar: Positions
    """Frames for the scalar decoder, in order."""
    flows: FlowPackets
    keepalives: int
    esp_packets: int
    esp_in_udp_packets: int
    ah_packets: int
    fragments: int
    """IP fragments handled here (ESP/AH/other fragments; UDP/TCP fragments go to the scalar path)."""
    undecodable: int


def _empty_positions() -> Positions:
    return np.zeros(0, dtype=np.int64)


# --- link layer -----------------------------------------------------------------------------------------
def _skip_vlan_tags(view: ByteView, ethertype: npt.NDArray[np.int64], network: Positions
                    ) -> tuple[npt.NDArray[np.int64], Positions, Positions]:
    """Step over stacked 802.1Q/802.1ad tags (2 octets of TCI, then the next type), and PPPoE.

    Works in place on the tagged frames only: untagged ones cost one table lookup. Also returns
    which frames moved."""
    tagged = np.flatnonzero(IS_VLAN_TPID[ethertype])
    moved = tagged
    for _ in range(MAX_VLAN_TAGS):
        if not len(tagged):
            break
        network[tagged] += 4
        ethertype[tagged] = view.u16(network[tagged] - 2)
        tagged = tagged[IS_VLAN_TPID[ethertype[tagged]]]
    # PPPoE session frames (DSL links): 6-octet PPPoE header, then the 2-octet PPP protocol.
    pppoe = np.flatnonzero(ethertype == ETHERTYPE_PPPOE_SESSION)
    if len(pppoe):
        protocol = view.u16(network[pppoe] + 6)
        ethertype[pppoe] = np.where(protocol == PPP_IPV4, ETHERTYPE_IPV4,
                                    np.where(protocol == PPP_IPV6, ETHERTYPE_IPV6, 0))
        network[pppoe] += 8
        moved = np.union1d(moved, pppoe)
    return ethertype, network, moved


def _from_ethertype(ethertype: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.where(ethertype == ETHERTYPE_IPV4, 4, np.where(ethertype == ETHERTYPE_IPV6, 6, 0))


def _from_family(family: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    inet6 = np.zeros(len(family), dtype=np.bool_)
    for value in AF_INET6_VALUES:
        inet6 |= family == value
    return np.where(family == AF_INET, 4, np.where(inet6, 6, 0))


def link_layer(view: ByteView, start: Positions, link_type: int
               ) -> tuple[npt.NDArray[np.int64], Positions, npt.NDArray[np.int64] | None]:
    """(IP version the link header announces: 4, 6 or 0 for not IP; where the IP header starts; the
    IP header's first octet when it came with the link header's read, else None)."""
    if link_type in (LINK_ETHERNET, LINK_SLL, LINK_SLL2):
        # Ethernet: type at 12, IP at 14; Linux cooked v1: protocol at 14, IP at 16; v2: protocol
        # first, IP at 20. For Ethernet one 32-bit read brings the type and, untagged, the IP
        # header's first octet.
        if link_type == LINK_ETHERNET:
            word = view.u32(start + 12).astype(np.int64)
            ethertype, first, network = word >> 16, (word >> 8) & 0xFF, start + 14
        else:
            type_at, network = (start + 14, start + 16) if link_type == LINK_SLL else (start, start + 20)
            ethertype, first = view.u16(type_at), None
        ethertype, network, moved = _skip_vlan_tags(view, ethertype, network)
        if first is not None and len(moved):
            first[moved] = view.u8(network[moved])
        return _from_ethertype(ethertype), network, first
    if link_type in LINK_RAW_ALIASES:  # raw IP: the version nibble says which
        first = view.u8(start)
        version = first >> 4
        return np.where((version == 4) | (version == 6), version, 0), start, first
    if link_type == LINK_IPV4:
        return np.full(len(start), 4, dtype=np.int64), start, None
    if link_type == LINK_IPV6:
        return np.full(len(start), 6, dtype=np.int64), start, None
    if link_type in (LINK_NULL, LINK_LOOP):
        family = view.u32(start).astype(np.int64)
        if link_type == LINK_NULL:
            # Host byte order of the capturing machine: a value above 0xFFFF was written little-endian.
            swapped = view.u32(start).byteswap().astype(np.int64)
            family = np.where(family > 0xFFFF, swapped, family)
        return _from_family(family), start + 4, None
    return np.zeros(len(start), dtype=np.int64), start, None


# --- IP -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Ip:
    valid: Mask
    version: npt.NDArray[np.int64]
    protocol: npt.NDArray[np.int64]
    transport: Positions
    """Where the transport header starts."""
    captured_end: Positions
    """End of the IP payload as far as captured."""
    reported_end: Positions
    """End of the IP payload as the IP header states it."""
    fragment: Mask
    first_fragment: Mask
    extension: Mask
    """IPv6 with extension headers (or a jumbogram): for the scalar decoder."""


def network_layer(view: ByteView, expected: npt.NDArray[np.int64], network: Positions, end: Positions,
                  first: npt.NDArray[np.int64] | None = None) -> _Ip:
    if first is None:
        first = view.u8(network)
    # Octets 2..9 of the IP header in one read: IPv4 total length, fragment word and protocol;
    # IPv6 payload length and next header.
    head = view.u64(network + 2)
    # IPv4 (read for every frame, kept where the frame is IPv4): header length from IHL, payload from
    # the total length (0 means "TSO, use what is there").
    v4 = (expected == 4) & ((first >> 4) == 4)
    header = (first & 15) << 2
    total = (head >> np.uint64(48)).astype(np.int64)
    total += (total == 0) * (end - network)
    transport = network + header
    v4 &= (header >= 20) & (transport <= end) & (total >= header)
    reported_end = network + total
    protocol = (head & np.uint64(0xFF)).astype(np.int64)
    fragment_bits = ((head >> np.uint64(16)) & np.uint64(0x3FFF)).astype(np.int64)
    fragment = v4 & (fragment_bits != 0)              # MF set or offset non-zero
    first_fragment = (fragment_bits & 0x1FFF) == 0
    # IPv6 (only where the link says IPv6): fixed 40-octet header; payload length 0 is a jumbogram
    # (hop-by-hop option), left to the scalar decoder like the extension headers.
    v6 = np.zeros(len(network), dtype=np.bool_)
    extension = np.zeros(len(network), dtype=np.bool_)
    six = np.flatnonzero(expected == 6)
    if len(six):
        at, words = network[six], head[six]
        ok = ((first[six] >> 4) == 6) & (at + 40 <= end[six])
        payload_length = ((words >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
        next_header = ((words >> np.uint64(24)) & np.uint64(0xFF)).astype(np.int64)
        v6[six] = ok
        protocol[six] = next_header
        transport[six] = at + 40
        reported_end[six] = at + 40 + payload_length
        extension[six] = ok & (IS_IPV6_EXTENSION[next_header] | (payload_length == 0))
    captured_end = np.minimum(reported_end, end)
    version = 4 + 2 * v6.astype(np.int64)
    return _Ip(v4 | v6, version, protocol, transport, captured_end, reported_end, fragment, first_fragment,
               extension)


# --- UDP ------------------------------------------------------------------------------------------------
def _udp_port_kind(plan: PortPlan, sport: npt.NDArray[np.int64], dport: npt.NDArray[np.int64]
                   ) -> npt.NDArray[np.int64]:
    """PORT_* per datagram, the lower port deciding when both are IKE ports (Wireshark's order)."""
    source = plan.udp_kind[sport].astype(np.int64)
    destination = plan.udp_kind[dport].astype(np.int64)
    both = (source > 0) & (destination > 0)
    lower = plan.udp_kind[np.minimum(sport, dport)].astype(np.int64)
    return np.where(both, lower, np.maximum(source, destination))


@dataclass(slots=True)
class _UdpOutcome:
    ike: IkeCandidates
    esp_index: Positions
    esp_spi: npt.NDArray[np.uint32]
    esp_sport: npt.NDArray[np.int64]
    esp_dport: npt.NDArray[np.int64]
    scalar: Positions
    keepalives: int


def udp_layer(view: ByteView, plan: PortPlan, index: Positions, ip: _Ip) -> _UdpOutcome:
    """UDP datagrams (unfragmented, no IPv6 extension headers) at `index`."""
    transport = ip.transport[index]
    captured_end = ip.captured_end[index]
    header = view.u64(transport)                     # ports, length, checksum in one read
    sport = (header >> np.uint64(48)).astype(np.int64)
    dport = ((header >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
    kind = _udp_port_kind(plan, sport, dport)
    # From here on only datagrams with an IKE port on either side.
    ike_port = np.flatnonzero((kind > 0) & (transport + 4 <= captured_end))
    index, transport, captured_end = index[ike_port], transport[ike_port], captured_end[ike_port]
    sport, dport, kind = sport[ike_port], dport[ike_port], kind[ike_port]
    reported_end = ip.reported_end[index]
    udp_length = ((header[ike_port] >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.int64)
    header_ok = (transport + 8 <= captured_end) & (udp_length >= 8)
    start = transport + 8
    # The UDP length bounds the payload, and so does the IP length (Wireshark takes the smaller).
    reported = np.minimum(udp_length, reported_end - transport) - 8
    present = np.clip(np.minimum(reported, captured_end - start), 0, None)
    first_word = view.u32(start)          # meaningful where present >= 4
    first_octet = view.u8(start)          # meaningful where present >= 1
    has_word = present >= 4
    marker = has_word & (first_word == 0)
    keepalive = header_ok & (kind != PORT_ISAKMP) & (reported == 1) & (present == 1) & (first_octet == 0xFF)
    esp = header_ok & (kind == PORT_NAT_T) & has_word & (first_word != 0)
    encapsulated = header_ok & (kind != PORT_ISAKMP) & marker
    plain = header_ok & ((kind == PORT_ISAKMP) | ((kind == PORT_EITHER) & ~marker & ~keepalive))
    is_ike = encapsulated | plain
    # Left over: a broken UDP header, or a 4500 payload too short to say what it is.
    scalar = index[~(is_ike | esp | keepalive)]
    chosen = np.flatnonzero(is_ike)
    shift = np.where(encapsulated[chosen], 4, 0)
    ike = IkeCandidates(
        index=index[chosen], version=ip.version[index[chosen]], network=np.zeros(0, dtype=np.int64),
        start=start[chosen] + shift, length=present[chosen] - shift,
        truncated=present[chosen] < reported[chosen], sport=sport[chosen], dport=dport[chosen],
        encapsulated=encapsulated[chosen])
    esp_at = np.flatnonzero(esp)
    return _UdpOutcome(ike, index[esp_at], first_word[esp_at], sport[esp_at], dport[esp_at], scalar,
                       int(np.count_nonzero(keepalive)))


# --- TCP, ICMP ------------------------------------------------------------------------------------------
def tcp_layer(view: ByteView, plan: PortPlan, index: Positions, ip: _Ip) -> Positions:
    """TCP segments on an IKE port that carry data or open/close a connection (for RFC 8229)."""
    transport = ip.transport[index]
    captured_end = ip.captured_end[index]
    readable = transport + 4 <= captured_end
    ports = view.u32(transport)
    on_ike_port = readable & (plan.tcp_ike[ports >> 16] | plan.tcp_ike[ports & 0xFFFF])
    index, transport, captured_end = index[on_ike_port], transport[on_ike_port], captured_end[on_ike_port]
    header_ok = transport + 20 <= captured_end
    data_offset = (view.u8(transport + 12) >> 4) * 4
    flags = view.u8(transport + 13)
    payload = ip.reported_end[index] - (transport + data_offset)
    # Pure ACKs are the bulk of a TCP stream and say nothing: skip them here.
    interesting: Positions = index[~header_ok | (payload > 0) | ((flags & 0x07) != 0)]
    return interesting


def icmp_layer(view: ByteView, index: Positions, ip: _Ip) -> Positions:
    """ICMP/ICMPv6 errors (they may quote an IKE packet; the scalar decoder looks)."""
    kind = view.u8(ip.transport[index])
    error = np.where(ip.version[index] == 4, IS_ICMP_ERROR[kind], IS_ICMPV6_ERROR[kind])
    return index[error & (ip.transport[index] + 8 <= ip.captured_end[index])]


# --- the whole triage -----------------------------------------------------------------------------------
def classify(batch: Batch, plan: PortPlan) -> Triage:
    view = ByteView(batch.data)
    start = batch.offsets
    end = start + batch.lengths
    expected, network, first = link_layer(view, start, batch.link_type)
    ip = network_layer(view, expected, network, end, first)
    undecodable = int(np.count_nonzero((expected != 0) & ~ip.valid))
    if batch.link_type not in SUPPORTED_LINK_TYPES:
        undecodable = len(batch)

    # One code per frame: its IP protocol where it can be handled whole, -1 otherwise; then one
    # comparison per protocol picks its frames.
    plain = ip.valid & ~ip.extension
    whole = plain & ~ip.fragment
    code = np.where(whole, ip.protocol, -1)
    # UDP/TCP fragments need reassembly; IPv6 extension headers need walking: both scalar.
    reassemble = plain & ip.fragment & ((ip.protocol == PROTO_UDP) | (ip.protocol == PROTO_TCP))
    scalar_parts = [np.flatnonzero(ip.extension), np.flatnonzero(reassemble)]

    udp = udp_layer(view, plan, np.flatnonzero(code == PROTO_UDP), ip)
    scalar_parts.append(udp.scalar)
    scalar_parts.append(tcp_layer(view, plan, np.flatnonzero(code == PROTO_TCP), ip))
    icmp = np.flatnonzero((code == PROTO_ICMP) | (code == PROTO_ICMPV6))
    if len(icmp):
        icmp = icmp[(ip.protocol[icmp] == PROTO_ICMP) == (ip.version[icmp] == 4)]
        scalar_parts.append(icmp_layer(view, icmp, ip))

    # ESP and AH: the SPI is in the first fragment too, so fragmented ESP is counted once, there.
    fragmented_first = plain & ip.fragment & ip.first_fragment
    countable = code if not fragmented_first.any() else np.where(fragmented_first, ip.protocol, code)
    esp_index = np.flatnonzero(countable == PROTO_ESP)
    esp_index = esp_index[ip.transport[esp_index] + 4 <= ip.captured_end[esp_index]]
    ah_index = np.flatnonzero(countable == PROTO_AH)
    ah_index = ah_index[ip.transport[ah_index] + 8 <= ip.captured_end[ah_index]]
    udp_esp = udp.esp_index
    index = np.concatenate((esp_index, udp_esp, ah_index))
    transport = np.concatenate((np.full(len(esp_index), FLOW_ESP), np.full(len(udp_esp), FLOW_UDP_ENCAP),
                                np.full(len(ah_index), FLOW_AH))).astype(np.int64)
    spi = np.concatenate((view.u32(ip.transport[esp_index]), udp.esp_spi, view.u32(ip.transport[ah_index] + 4)))
    zeros = np.zeros(len(esp_index), dtype=np.int64)
    ah_zeros = np.zeros(len(ah_index), dtype=np.int64)
    sport = np.concatenate((zeros, udp.esp_sport, ah_zeros))
    dport = np.concatenate((zeros, udp.esp_dport, ah_zeros))
    flows = FlowPackets(index, spi, ip.version[index], network[index], sport, dport, transport)

    udp.ike.network = network[udp.ike.index]
    fragments = int(np.count_nonzero(ip.fragment)) - len(scalar_parts[1])
    scalar = np.unique(np.concatenate(scalar_parts)) if any(len(p) for p in scalar_parts) else _empty_positions()
    return Triage(udp.ike, scalar, flows, udp.keepalives, len(esp_index), len(udp_esp), len(ah_index),
                  fragments, undecodable)
