"""The tracker's bookkeeping, fed real messages: SA identity, roles, retransmissions, memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from oracle import CORPUS

from dissectors import Message, Notify, parse_message
from ikesniff.capture import read_capture
from ikesniff.capture.events import CaptureStats, IkeDatagram
from ikesniff.events import NotifyRef
from ikesniff.tracker import (
    DIGESTS_KEPT_PER_SA,
    EXCHANGES_KEPT,
    FOLD_AFTER,
    RETRANSMISSION_HORIZON,
    SHAPE,
    SHAPE_FIELDS,
    SWEEP_EVERY,
    Observation,
    Opened,
    Recent,
    Sent,
    Tracker,
    _again,
    alike,
)


def datagrams(name: str) -> list[IkeDatagram]:
    return [i for i in read_capture(str(CORPUS / name), CaptureStats()) if isinstance(i, IkeDatagram)]


def observe(tracker: Tracker, message: Message, datagram: IkeDatagram, time: float | None = None):
    notifies = [NotifyRef(p.notify_name, p.notify_type) for p in message.payloads if isinstance(p, Notify)]
    return tracker.observe(message, datagram.data, datagram.frame,
                           datagram.time if time is None else time, datagram.src, datagram.dst, notifies)


def test_cookie_retry_keeps_the_ike_sa_and_is_not_a_retransmission() -> None:
    tracker = Tracker()
    seen = [observe(tracker, parse_message(d.data), d) for d in datagrams("tcpdump/ikev2four.pcap")[:4]]
    assert len({s.ike_sa.id for s in seen}) == 1
    assert [s.retransmission for s in seen] == [False, False, False, False]
    assert [s.response for s in seen] == [False, True, False, True]


def test_identical_bytes_from_the_same_side_are_a_retransmission_of_the_first() -> None:
    tracker = Tracker()
    frames = datagrams("zeek-spicy-ipsec/ipsec_client.pcap")
    seen = [observe(tracker, parse_message(d.data), d) for d in frames]
    repeats = [(s.retransmission, s.retransmission_of) for s in seen if s.retransmission]
    first_auth = next(d.frame for d, s in zip(frames, seen) if not s.retransmission and d.sport == 4500)
    assert repeats and all(of == first_auth for _, of in repeats)


def test_an_idle_sa_forgets_its_messages_but_keeps_its_identity() -> None:
    tracker = Tracker()
    first, *others = datagrams("tcpdump/ikev2four.pcap")
    message = parse_message(first.data)
    observe(tracker, message, first, time=0.0)
    sa = next(iter(tracker.ike_sas.values()))
    assert sa.digests
    later = RETRANSMISSION_HORIZON + 1
    filler = parse_message(others[-1].data)
    for _ in range(SWEEP_EVERY):
        observe(tracker, filler, others[-1], time=later)
    assert not sa.digests
    again = observe(tracker, message, first, time=later)
    assert again.ike_sa is sa and not again.retransmission


def lab_datagrams(name: str) -> list[IkeDatagram]:
    path = Path(__file__).resolve().parent.parent / "pcaps" / name
    return [i for i in read_capture(str(path), CaptureStats()) if isinstance(i, IkeDatagram)]


def feed(tracker: Tracker, items: list[IkeDatagram]) -> list[Observation]:
    seen = []
    for d in items:
        message = parse_message(d.data)
        notifies = [NotifyRef(p.notify_name, p.notify_type) for p in message.payloads if isinstance(p, Notify)]
        seen.append(tracker.observe(message, d.data, d.frame, d.time, d.src, d.dst, notifies, sport=d.sport,
                                    dport=d.dport, transport=d.transport, frames=d.frames))
    return seen


def test_one_ike_sa_from_port_500_to_4500_across_the_nat() -> None:
    tracker = Tracker()
    seen = feed(tracker, lab_datagrams("ikev2-nat.pcap"))
    assert len({s.ike_sa.id for s in seen}) == 1
    ike_sa = seen[0].ike_sa
    assert len(ike_sa.addresses[True]) == 2, ike_sa.addresses  # 203.0.113.1:40800 then :40226 after the float
    assert set(ike_sa.transports) == {"udp", "udp-encap"}


def test_requests_and_responses_pair_into_exchanges() -> None:
    tracker = Tracker()
    ike_sa = feed(tracker, lab_datagrams("ikev2-dh-mismatch-recovered.pcap"))[0].ike_sa
    init, auth = list(ike_sa.iter_exchanges())[:2]
    assert (init.name, [s.frame for s in init.requests], [s.frame for s in init.responses]) == \
        ("IKE_SA_INIT", [1, 3], [2, 4])
    assert init.steps == [2, 2] and init.retransmissions == 0  # the retry after INVALID_KE is new bytes
    assert (auth.name, auth.answered, auth.by_initiator) == ("IKE_AUTH", True, True)
    assert 0 < (auth.response_time() or 0) < 1


def test_ikev1_main_mode_is_one_exchange_of_three_round_trips() -> None:
    tracker = Tracker()
    ike_sa = feed(tracker, lab_datagrams("ikev1-main-psk-mismatch.pcap"))[0].ike_sa
    phase1 = next(iter(ike_sa.iter_exchanges()))
    assert phase1.name == "IDENTITY_PROTECTION" and phase1.steps == [3, 2]
    assert phase1.retransmissions == 3  # message 5 sent four times
    informational = [e for e in ike_sa.iter_exchanges() if e.name == "INFORMATIONAL"]
    assert len(informational) == 4 and not any(e.expects_response for e in informational)


def test_exchanges_kept_per_sa_are_bounded() -> None:
    tracker = Tracker()
    items = lab_datagrams("ikev2-psk.pcap")
    feed(tracker, items[:4])
    request = items[2]  # IKE_AUTH request, replayed with ever new message ids
    for message_id in range(2, 2 + 3 * EXCHANGES_KEPT):
        data = request.data[:20] + message_id.to_bytes(4, "big") + request.data[24:]
        feed(tracker, [IkeDatagram(frame=request.frame + message_id, time=request.time + message_id,
                                   src=request.src, sport=request.sport, dst=request.dst, dport=request.dport,
                                   transport=request.transport, data=data)])
    ike_sa = next(iter(tracker.ike_sas.values()))
    assert ike_sa.exchange_count == EXCHANGES_KEPT
    assert [e.name for e in list(ike_sa.iter_exchanges())[:2]] == ["IKE_SA_INIT", "IKE_AUTH"]
    assert ike_sa.exchanges_dropped == 2 + 3 * EXCHANGES_KEPT - EXCHANGES_KEPT


def test_icmp_errors_attach_to_the_sa_they_quote() -> None:
    tracker = Tracker()
    ike_sa = feed(tracker, lab_datagrams("ikev2-not-listening.pcap")[:1])[0].ike_sa
    assert tracker.icmp(2, 0.0, "192.0.2.2", "port unreachable", "192.0.2.1", 500, "192.0.2.2", 500) is ike_sa
    assert tracker.icmp(3, 0.0, "198.51.100.9", "port unreachable", "198.51.100.1", 500, "198.51.100.9", 500) is None
    assert [i.frame for i in ike_sa.icmp] == [2]


def replayed(item: IkeDatagram, message_id: int, frame: int, time: float) -> IkeDatagram:
    """`item` with another message id, frame and time (its bytes otherwise the same)."""
    data = item.data[:20] + message_id.to_bytes(4, "big") + item.data[24:]
    return IkeDatagram(frame=frame, time=time, src=item.src, sport=item.sport, dst=item.dst, dport=item.dport,
                       transport=item.transport, data=data)


def both_ways(items: list[IkeDatagram]) -> tuple[Tracker, Tracker]:
    """The same messages through a tracker that folds routine exchanges and one that does not."""
    folding, whole = Tracker(), Tracker()
    folding.fold_after = 0  # (the lab's SAs are short: fold from their first exchange on)
    whole.fold_routine = False
    feed(folding, items)
    feed(whole, items)
    return folding, whole


def liveness_checks(count: int, start: int = 6, first_frame: int = 100) -> list[IkeDatagram]:
    """An IKEv2 SA set up (lab ikev2-rekey), then `count` liveness checks, its INFORMATIONAL #3 and answer
    replayed with ever new message ids, frames and times."""
    items = lab_datagrams("ikev2-rekey.pcap")
    request, answer = items[6], items[7]  # frames 13 and 14: INFORMATIONAL #3, request and answer
    checks = []
    for n in range(count):
        message_id, frame, time = start + n, first_frame + 2 * n, request.time + 10.0 * (n + 1)
        checks += [replayed(request, message_id, frame, time), replayed(answer, message_id, frame + 1, time + 0.001)]
    return items[:6] + checks


def test_liveness_checks_are_folded_and_read_back_as_they_were() -> None:
    folding, whole = both_ways(liveness_checks(3 * EXCHANGES_KEPT))
    ike_sa = next(iter(folding.ike_sas.values()))
    other = next(iter(whole.ike_sas.values()))
    assert ike_sa.ordered_exchanges() == other.ordered_exchanges()
    assert ike_sa.exchange_count == EXCHANGES_KEPT and ike_sa.exchanges_dropped == other.exchanges_dropped
    assert ike_sa.folded is not None and len(ike_sa.folded) >= EXCHANGES_KEPT - 5  # (the newest stays whole)
    assert len(ike_sa.routines) == 1
    assert [e.message_id for e in ike_sa.iter_exchanges(37, newest_first=True)][:2] == \
        [5 + 3 * EXCHANGES_KEPT, 4 + 3 * EXCHANGES_KEPT]


def test_a_late_copy_of_a_folded_exchange_unfolds_it() -> None:
    items = liveness_checks(6)
    late = items[-5]  # the answer of the fourth check (#9), again, after the sixth
    items.append(IkeDatagram(frame=999, time=late.time + 100, src=late.src, sport=late.sport, dst=late.dst,
                             dport=late.dport, transport=late.transport, data=late.data))
    folding, whole = both_ways(items)
    ike_sa = next(iter(folding.ike_sas.values()))
    assert ike_sa.ordered_exchanges() == next(iter(whole.ike_sas.values())).ordered_exchanges()
    again = next(e for e in ike_sa.records.values() if e.message_id == 9)
    assert again.response_retransmissions == 1 and [s.frame for s in again.responses] == [107, 999]


def test_lab_captures_read_the_same_folded_or_not() -> None:
    for name in ("ikev1-dpd-ok.pcap", "ikev1-dpd-timeout.pcap", "ikev2-rekey.pcap", "peers/strongswan-mobike-move.pcap",
                 "peers/vpnc-libreswan-xauth-ts-mismatch.pcap"):
        folding, whole = both_ways(lab_datagrams(name))
        assert any(sa.folded for sa in folding.ike_sas.values()), name
        for key, ike_sa in folding.ike_sas.items():
            assert ike_sa.ordered_exchanges() == whole.ike_sas[key].ordered_exchanges(), name


def test_a_folded_message_is_made_again_field_for_field() -> None:
    sent = Sent(frame=7, time=1.5, src="192.0.2.1", sport=4500, dst="192.0.2.2", dport=4501, transport="udp-encap",
                exchange="INFORMATIONAL", exchange_type=37, message_id=9, response=True, initiator=True, length=80,
                encrypted=True, notifies=(NotifyRef("R_U_THERE", 36136),), payloads=("SK",), retransmission=True,
                frames=(6, 7), fragment=(1, 2), sk_length=52, commit=True, inner=("N",),
                opened=Opened(cfg=("x",)))
    assert _again(sent, 7, 1.5, 9) == sent


def test_messages_alike_differ_in_frame_time_and_message_id_only() -> None:
    sent = Sent(frame=7, time=1.5, src="192.0.2.1", sport=4500, dst="192.0.2.2", dport=4500, transport="udp-encap",
                exchange="INFORMATIONAL", exchange_type=37, message_id=9, response=False, initiator=True, length=80,
                encrypted=True, notifies=(), payloads=("SK",), retransmission=False)
    other = {"event": "other", "src": "192.0.2.9", "sport": 500, "dst": "192.0.2.9", "dport": 500, "transport": "udp",
             "exchange": "CREATE_CHILD_SA", "exchange_type": 36, "response": True, "initiator": False, "length": 96,
             "encrypted": False, "notifies": (NotifyRef("R_U_THERE", 36136),), "payloads": ("SK", "N"),
             "retransmission": True, "frames": (6, 7), "fragment": (1, 2), "sk_length": 52, "commit": True,
             "inner": ("D",), "opened": Opened(cfg=("x",))}
    assert set(other) == set(SHAPE_FIELDS)  # (a new field of Sent needs a line here and one in `alike`)
    assert alike(sent, replace(sent, frame=8, time=2.5, message_id=10))
    for name, value in other.items():
        changed = replace(sent, **{name: value}) if name != "event" else _with_event(sent, value)
        assert not alike(sent, changed) and SHAPE(sent) != SHAPE(changed), name


def _with_event(sent: Sent, event: str) -> Sent:
    changed = replace(sent)
    changed.event = event
    return changed


def test_recent_keys_are_found_at_their_own_place_only() -> None:
    recent: Recent[int] = Recent([], 8)
    recent.add(0x0102030405060708, 1)
    recent.add(0x090A0B0C0D0E0F10, 2)
    assert recent.get(0x0102030405060708) == 1 and recent.get(0x090A0B0C0D0E0F10) == 2
    assert recent.keys.find((0x0D0E0F1001020304).to_bytes(8, "little")) == 4
    assert recent.get(0x0D0E0F1001020304) is None  # the octets across the two keys, not a key
    for key in range(3, 3 + DIGESTS_KEPT_PER_SA):
        recent.add(key, key)
    assert recent.get(0x0102030405060708) is None and recent.get(0x090A0B0C0D0E0F10) is None  # the oldest forgotten
    assert recent.get(3) == 3 and recent.get(2 + DIGESTS_KEPT_PER_SA) == 2 + DIGESTS_KEPT_PER_SA


def test_a_short_sa_keeps_its_exchanges_whole_a_long_one_folds_its_liveness_checks() -> None:
    short, long = Tracker(), Tracker()
    feed(short, liveness_checks(FOLD_AFTER - 3))  # (three exchanges to set it up)
    feed(long, liveness_checks(3 * EXCHANGES_KEPT))
    assert not any(sa.folded for sa in short.ike_sas.values())
    assert next(iter(short.ike_sas.values())).exchange_count == FOLD_AFTER
    ike_sa = next(iter(long.ike_sas.values()))
    assert ike_sa.folded is not None and len(ike_sa.folded) >= EXCHANGES_KEPT - FOLD_AFTER
    assert len(ike_sa.records) <= FOLD_AFTER + 1


def test_frames_beyond_four_billion_are_folded_too() -> None:
    folding, whole = both_ways(liveness_checks(12, first_frame=2**32 - 9))
    ike_sa = next(iter(folding.ike_sas.values()))
    assert ike_sa.folded is not None and ike_sa.folded.rows.typecode == "Q"
    assert ike_sa.ordered_exchanges() == next(iter(whole.ike_sas.values())).ordered_exchanges()
