"""Live capture on the loopback interface (needs root or CAP_NET_RAW; skipped otherwise)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from test_capture_builders import ike_message

from ikesniff.capture import CaptureError, IkeDatagram
from ikesniff.capture.events import CaptureStats
from ikesniff.capture.live import LiveSource, capture_filter, read_live

PORTS = frozenset({500, 4500})


def _open(**options: object) -> LiveSource:
    try:
        return LiveSource("lo", **options)  # type: ignore[arg-type]
    except CaptureError as error:
        pytest.skip(f"no live capture here: {error}")


def test_the_capture_filter_keeps_ike_esp_and_fragments() -> None:
    text = capture_filter(PORTS, extra="host 192.0.2.1")
    assert "(udp and (port 500 or port 4500))" in text and " esp " in text and "0x3fff" in text
    assert text.endswith("and (host 192.0.2.1)")


def test_live_datagrams_on_loopback() -> None:
    source = _open(bpf=capture_filter(PORTS), duration=5.0)
    message = ike_message(spi_i=0x5151, body=b"\x01" * 20)

    def send() -> None:
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(message, ("127.0.0.1", 500))
            sender.sendto(b"\0\0\0\0" + message, ("127.0.0.1", 4500))

    threading.Thread(target=send, daemon=True).start()
    stats = CaptureStats()
    found = []
    for item in read_live(source, stats, PORTS):
        if isinstance(item, IkeDatagram) and item.data == message:
            found.append(item.transport)
            if len(found) == 2:
                source.stop()
    assert sorted(found) == ["udp", "udp-encap"]


def test_a_bad_interface_or_filter_is_a_capture_error() -> None:
    with pytest.raises(CaptureError, match="no-such-interface"):
        LiveSource("no-such-interface")
    _open()
    with pytest.raises(CaptureError, match="bad capture filter"):
        LiveSource("lo", bpf="this is not bpf")
