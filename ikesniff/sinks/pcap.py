"""`-w FILE`: each IKE message as one packet of a pcap (reassembled, encapsulation kept), redacted when a
redactor is given."""

from __future__ import annotations

from ..analysis import DecodedMessage
from ..capture.writer import PcapWriter
from ..redact import Redactor


class PcapSink:
    def __init__(self, path: str, redactor: Redactor | None = None) -> None:
        """Raises CaptureError when the file cannot be created."""
        self.pcap: PcapWriter | None = PcapWriter(path)
        self.redactor = redactor

    def write(self, item: object) -> None:
        if self.pcap is None or not isinstance(item, DecodedMessage) or item.datagram is None:
            return
        for datagram in (self.redactor.datagrams(item.datagram) if self.redactor is not None else [item.datagram]):
            self.pcap.write(datagram)

    def close(self) -> None:
        if self.pcap is None:
            return
        if self.redactor is not None:
            for datagram in self.redactor.flush():  # Cisco fragments of a message never completed
                self.pcap.write(datagram)
        self.pcap.close()
        self.pcap = None
