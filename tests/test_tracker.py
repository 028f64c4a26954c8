"""The tracker's bookkeeping, fed real messages: SA identity, roles, retransmissions, memory."""

from __future__ import annotations

from oracle import CORPUS

from dissectors import Message, Notify, parse_message
from ikesniff.capture import read_capture
from ikesniff.capture.events import CaptureStats, IkeDatagram
from ikesniff.events import NotifyRef
from ikesniff.tracker import RETRANSMISSION_HORIZON, SWEEP_EVERY, Tracker


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
