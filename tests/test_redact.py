"""`--redact`: no original address, SPI, identity or certificate name survives in any output or in the
`-w` capture, one original always gets the same placeholder, and the redacted capture reads the same."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors import Message, Notify, Payload, parse_message
from dissectors.ikev1 import CertificatePayload, CertificateRequestPayload, IdentificationPayload
from dissectors.ikev2 import Certificate, ExtensibleAuthentication, Identification
from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.capture import CaptureStats, FrameProblem, IkeDatagram, read_capture
from ikesniff.capture.writer import PcapWriter
from ikesniff.crypto.keys import KeyStore, load_key_file
from ikesniff.events import EspFlowSummary
from ikesniff.output import message_line, message_tree
from ikesniff.redact import IPV4_PLACEHOLDERS, IPV6_PLACEHOLDERS, KEEP, Redactor

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
CORPUS = REPO.parent / "shared" / "corpus" / "external"

CAPTURES: dict[str, tuple[Path, list[Path]]] = {
    # FQDN identities in clear (aggressive mode), a PSK mismatch and a peer-id mismatch among them
    "ikev1-aggressive": (PCAPS / "ikev1-aggressive.pcap", []),
    "ikev1-aggressive-psk-mismatch": (PCAPS / "ikev1-aggressive-psk-mismatch.pcap", []),
    "ikev1-aggressive-peer-id-mismatch": (PCAPS / "ikev1-aggressive-peer-id-mismatch.pcap", []),
    # identities and certificates read only with keys
    "ikev2-psk": (PCAPS / "ikev2-psk.pcap", [PCAPS / "ikev2-psk.moon.charon.log"]),
    "ikev2-cert": (PCAPS / "ikev2-cert.pcap", [PCAPS / "ikev2-cert.moon.charon.log"]),
    "ikev1-certs": (CORPUS / "zeek-spicy-ipsec" / "ikev1-certs.pcap",
                    [CORPUS / "zeek-spicy-ipsec" / "ikev1-certs.ikev1_decryption_table"]),
    "ikev2pI2": (CORPUS / "tcpdump" / "ikev2pI2.pcap", [CORPUS / "tcpdump" / "ikev2pI2.ikev2_decryption_table"]),
    # certificates in clear over IPv4 and IPv6; certificate requests inside Cisco fragments; REDIRECT
    "ike-cert_synthetic": (CORPUS / "arkime" / "ike-cert_synthetic.pcap", []),
    "test1": (CORPUS / "wireshark-wiki" / "test1.pcap", []),
    "ikev2_notify_redirect": (CORPUS / "scapy" / "ikev2_notify_redirect.pcap", []),
    "IKEv2-ipv6": (CORPUS / "arkime" / "IKEv2.pcap", []),
    "ikev2-nat": (PCAPS / "ikev2-nat.pcap", []),
}


@dataclass
class Secrets:
    """What the original capture says that must not reach a redacted output, found without the redactor."""

    addresses: set[str] = field(default_factory=set)
    spis: set[bytes] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    """Identities, certificate CNs and alternative names, certificate request authorities, as text."""
    blobs: set[bytes] = field(default_factory=set)
    """Identity and certificate octets as they travel."""
    keys: set[bytes] = field(default_factory=set)

    def add_address(self, text: str) -> None:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return
        if not (ip.is_unspecified or ip.is_loopback):
            self.addresses.add(str(ip))

    def add_payload(self, payload: Payload) -> None:
        if isinstance(payload, (Identification, IdentificationPayload)) and payload.data:
            if payload.id_type in (1, 5):
                self.add_address(payload.value)
            else:
                self.names.add(payload.value)
                self.blobs.add(payload.data)
        elif isinstance(payload, (Certificate, CertificatePayload)) and payload.data:
            self.blobs.add(payload.data)
            try:
                certificate = x509.load_der_x509_certificate(payload.data)
            except ValueError:
                return
            for name in (certificate.subject, certificate.issuer):
                self.names.update(str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME))
                self.names.add(name.rfc4514_string())
        elif isinstance(payload, CertificateRequestPayload) and payload.authority_name:
            self.names.add(payload.authority_name)
            self.names.update(part[3:] for part in payload.authority_name.split(", ") if part.startswith("CN="))
            self.blobs.add(payload.authority)
        elif isinstance(payload, Notify) and isinstance(payload.decoded.get("gateway"), str):
            gateway = str(payload.decoded["gateway"])
            if payload.decoded.get("gateway_type") == 3:
                self.names.add(gateway)
            else:
                self.add_address(gateway)
        elif isinstance(payload, ExtensibleAuthentication) and payload.code == 2 and payload.eap_type == 1:
            self.names.add(payload.data.decode())


@dataclass
class Redacted:
    texts: list[str]
    pcap: bytes
    """The redacted `-w` capture, encrypted payloads left out."""
    secrets: Secrets
    redactor: Redactor
    messages: list[tuple[Any, Any]]
    """(original, redacted) message events."""
    verdicts: list[tuple[Any, Any]]
    diagnoses: list[tuple[Any, Any]]
    plain: Path
    redacted: Path


def keystore(files: list[Path]) -> KeyStore | None:
    if not files:
        return None
    keys = KeyStore()
    for file in files:
        keys.add(load_key_file(str(file)))
    return keys


def inner_message(decoded: DecodedMessage) -> Message:
    return dataclasses.replace(decoded.message, payloads=list(decoded.inner), errors=[])


def redact_capture(name: str, tmp_path: Path) -> Redacted:
    """What `ikesniff -r X --redact` (lines, -v trees, --json) and `-w` would give, and what must not be in it."""
    capture, key_files = CAPTURES[name]
    keys = keystore(key_files)
    analysis = Analysis(keys=keys)
    redactor = Redactor()
    secrets = Secrets()
    texts: list[str] = []
    messages: list[tuple[Any, Any]] = []
    start: float | None = None

    def show(event: Any) -> Any:
        redacted = redactor.event(event)
        texts.append(orjson.dumps(redacted).decode())
        texts.append(redactor.text(orjson.dumps(event).decode()))  # formatted first, redacted after
        return redacted

    for item in analysis.run(str(capture)):
        if isinstance(item, FrameProblem):
            texts.append(redactor.text(item.text))
            continue
        if not isinstance(item, DecodedMessage):
            show(item)
            continue
        redactor.learn(item.message, item.inner)
        event = item.event
        start = event.time if start is None else start
        redacted = show(event)
        messages.append((event, redacted))
        texts.append(message_line(redacted, start))
        texts.append(redactor.text(message_line(event, start)))
        texts.extend(redactor.text(line) for line in message_tree(item.message))
        texts.extend(redactor.text(line) for line in message_tree(inner_message(item)))
        secrets.add_address(event.src)
        secrets.add_address(event.dst)
        secrets.spis.update(bytes.fromhex(spi) for spi in (event.spi_i, event.spi_r) if int(spi, 16))
        for payload in [*item.message.payloads, *item.inner]:
            secrets.add_payload(payload)
    conclusions = conclude(analysis)
    diagnoses = [(event, show(event)) for event in conclusions.diagnoses]
    for finding in conclusions.findings:
        show(finding)
    verdicts = [(event, show(event)) for event in conclusions.verdicts]
    for (spi, src, dst, _), flow in analysis.stats.esp_flows.items():
        show(EspFlowSummary(f"{spi:08x}", flow.transport, src, flow.sport, dst, flow.dport, flow.packets,
                            flow.first_frame, flow.last_frame, flow.first_time, flow.last_time))
        secrets.spis.add(spi.to_bytes(4, "big"))
        secrets.add_address(src)
        secrets.add_address(dst)
    if keys is not None:
        for key_set in [*keys.ikev2.values(), *keys.ikev1.values()]:
            secrets.keys.update(value for value in dataclasses.asdict(key_set).values()
                                if isinstance(value, bytes) and len(value) >= 8 and value not in secrets.spis)

    datagrams = [item for item in read_capture(str(capture), CaptureStats()) if isinstance(item, IkeDatagram)]
    plain, redacted_path = tmp_path / f"{name}.pcap", tmp_path / f"{name}.redacted.pcap"
    with PcapWriter(str(plain)) as writer:
        for datagram in datagrams:
            writer.write(datagram)
    with PcapWriter(str(redacted_path)) as writer:
        for datagram in datagrams:
            for out in redactor.datagrams(datagram):
                writer.write(out)
        for out in redactor.flush():
            writer.write(out)
    return Redacted(texts, clear_bytes(redacted_path), secrets, redactor, messages, verdicts, diagnoses,
                    plain, redacted_path)


def clear_bytes(path: Path) -> bytes:
    """The capture file without the bodies of encrypted payloads (written as captured: their IVs and
    ciphertext may hold any octets, such as the test-vector IV 000102...0f of tcpdump's ikev2pI2)."""
    data = path.read_bytes()
    for item in read_capture(str(path), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            for payload in message.payloads:
                if payload.type in (46, 53) or (message.version == 1 and message.encrypted):
                    data = data.replace(item.data[payload.offset + 4:payload.offset + payload.length], b"")
    return data


def address_pattern(address: str) -> re.Pattern[str]:
    if ":" in address:
        return re.compile(rf"(?<![0-9a-fA-F:]){re.escape(address)}(?![0-9a-fA-F:])", re.IGNORECASE)
    return re.compile(rf"(?<![\d]){re.escape(address)}(?!\d)")


def leaks(texts: list[str], secrets: Secrets) -> list[str]:
    """Every original address, SPI, identity or key still found in `texts`."""
    whole = "\n".join(texts)
    lower = whole.lower()
    found = [address for address in secrets.addresses if address_pattern(address).search(whole)]
    found += [spi.hex() for spi in secrets.spis if spi.hex() in lower]
    found += [name for name in secrets.names if len(name) >= 3 and name in whole]  # as sent (a vendor ID may
    # name the same word in another case before the certificate that holds it is read: 'Openswan')
    found += [blob.hex() for blob in secrets.blobs if len(blob) >= 4 and blob[:32].hex() in lower]
    found += ["a key" for key in secrets.keys if key.hex() in lower or key[:32].hex() in lower]
    return found


def codes(path: Path) -> list[str]:
    analysis = Analysis()
    for _ in analysis.run(str(path)):
        pass
    return [verdict.code for verdict in conclude(analysis).verdicts]


@pytest.mark.parametrize("name", CAPTURES)
def test_no_original_address_spi_or_identity_in_any_output(name: str, tmp_path: Path) -> None:
    result = redact_capture(name, tmp_path)
    secrets = result.secrets
    assert secrets.addresses and secrets.spis
    assert not leaks(result.texts, secrets)
    pcap = result.pcap
    assert not [address for address in secrets.addresses if ipaddress.ip_address(address).packed in pcap]
    assert not [spi.hex() for spi in secrets.spis if len(spi) == 8 and spi in pcap]
    assert not [name for name in secrets.names if len(name) >= 3 and name.encode() in pcap]
    assert not [blob.hex() for blob in secrets.blobs if len(blob) >= 4 and blob in pcap]


def test_the_captures_hold_identities_and_certificates_to_hide(tmp_path: Path) -> None:
    """The cases above are not vacuous: identities in clear, decrypted ones, certificates, CAs, REDIRECT."""
    found = {name: redact_capture(name, tmp_path).secrets for name in
             ("ikev1-aggressive", "ikev2-psk", "ikev2-cert", "ikev1-certs", "test1", "ikev2_notify_redirect")}
    assert {"moon.example", "sun.example"} <= found["ikev1-aggressive"].names
    assert found["ikev2-psk"].names and found["ikev2-psk"].keys
    assert any("." in name for name in found["ikev2-cert"].names) and found["ikev2-cert"].blobs
    assert "SchendlZertifikate" in found["ikev1-certs"].names
    assert any(name.startswith("C=") or "CN=" in name for name in found["test1"].names)
    assert found["ikev2_notify_redirect"].addresses


@pytest.mark.parametrize("name", ["ikev1-aggressive", "ikev2-psk", "ike-cert_synthetic", "IKEv2-ipv6", "test1"])
def test_one_original_one_placeholder_everywhere(name: str, tmp_path: Path) -> None:
    result = redact_capture(name, tmp_path)
    redactor = result.redactor
    placeholders: dict[str, str] = {}
    for original, redacted in result.messages:
        for before, after in ((original.src, redacted.src), (original.dst, redacted.dst)):
            assert placeholders.setdefault(before, after) == after == redactor.address(before)
            ip = ipaddress.ip_address(after)
            assert ip in (IPV4_PLACEHOLDERS if ip.version == 4 else IPV6_PLACEHOLDERS)
        assert redacted.ike_sa == redactor.text(original.ike_sa) and redacted.ike_sa != original.ike_sa
        assert redacted.spi_i == redactor.event(original).spi_i
    assert len(set(placeholders.values())) == len(placeholders)
    assert not set(placeholders.values()) & set(placeholders)
    for original, redacted in result.verdicts:
        assert sorted(redacted.peers) == sorted(placeholders[peer] for peer in original.peers)
        assert redacted.code == original.code and len(redacted.message) > 0
    ike_sas = {redacted.ike_sa for _, redacted in result.messages}
    assert {redacted.ike_sa for _, redacted in result.diagnoses} <= ike_sas


@pytest.mark.parametrize("name", list(CAPTURES))
def test_the_redacted_capture_reads_the_same(name: str, tmp_path: Path) -> None:
    """Same verdicts from the redacted `-w` capture as from the plain one, and tshark finds nothing new wrong."""
    result = redact_capture(name, tmp_path)
    assert codes(result.redacted) == codes(result.plain)
    redactor = Redactor()  # the placeholders of a second run over the redacted capture are its own
    plain = [redactor.event(event) for event, _ in result.messages]
    read_back = [item.event for item in Analysis().run(str(result.redacted)) if isinstance(item, DecodedMessage)]
    shape = [(e.exchange, e.response, e.initiator, e.retransmission, e.transport) for e in read_back]
    assert shape == [(e.exchange, e.response, e.initiator, e.retransmission, e.transport) for _, e in result.messages]
    assert len(plain) == len(read_back)
    if shutil.which("tshark"):
        assert tshark_complaints(result.redacted) == tshark_complaints(result.plain)


def tshark_complaints(path: Path) -> list[str]:
    output = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "_ws.expert.message"],
                            capture_output=True, text=True, check=True).stdout
    return [re.sub(r"\d+", "N", line) for line in output.splitlines()]


def test_placeholders_are_never_an_address_seen() -> None:
    redactor = Redactor()
    assert redactor.address("240.0.0.2") == "240.0.0.1"  # the reserved block seen as an original
    assert redactor.address("192.0.2.1") == "240.0.0.3"  # 240.0.0.2 was seen: skipped
    assert redactor.address("2001:db8::1") == "100::1"
    assert redactor.address("2001:0db8:0:0::1") == "100::1"
    assert redactor.text("from 192.0.2.1 to [2001:db8::1]:500 and 240.0.0.2.") == \
        "from 240.0.0.3 to [100::1]:500 and 240.0.0.1."
    assert redactor.text("0.0.0.0/0 255.255.255.0 ::/0 127.0.0.1") == "0.0.0.0/0 255.255.255.0 ::/0 127.0.0.1"


def test_a_name_inside_another_and_any_case(tmp_path: Path) -> None:
    """Identities (as an IDi would carry them) that contain one another: the longest is replaced first."""
    redactor = redact_capture("ikev2-psk", tmp_path).redactor
    first = next(item for item in read_capture(str(PCAPS / "ikev2-psk.pcap"), CaptureStats())
                 if isinstance(item, IkeDatagram))
    message = parse_message(first.data)
    identities = [Identification(35, "IDi", 0, 0, id_type=2, value=value, data=value.encode())
                  for value in ("example.org", "gw.vpn.example.org", "vpn.example.org")]
    redactor.learn(message, identities)
    line = "gw.vpn.example.org, vpn.example.org and EXAMPLE.ORG; gw.vpn.example.org."
    out = redactor.text(line)
    assert "example.org" not in out.lower() and "vpn" not in out
    assert out.split(", ")[0] == out.split("; ")[1].rstrip(".")  # the longest name won, the same way twice
    assert len(set(re.findall(r"host-\d+\.example", out))) == 3


def test_text_is_idempotent_and_keeps_versions_and_oids(tmp_path: Path) -> None:
    result = redact_capture("ikev1-aggressive", tmp_path)
    redactor = result.redactor
    for line in result.texts:
        assert redactor.text(line) == line
    assert redactor.text("strongSwan 5.9.8, OID 1.2.840.113549.1.1.11") == "strongSwan 5.9.8, OID 1.2.840.113549.1.1.11"


@settings(max_examples=300, deadline=None)
@given(learned=st.lists(st.ip_addresses(v=4).filter(lambda ip: ip not in IPV4_PLACEHOLDERS and ip not in KEEP
                                                     and not ip.is_unspecified and not ip.is_loopback),
                        min_size=1, max_size=5),
       pieces=st.lists(st.one_of(st.text(max_size=8), st.sampled_from(["", ".", ":", "1", "[", "]:500", " "])),
                       max_size=12),
       data=st.data())
def test_text_never_leaves_a_learned_ipv4_literal(learned: list[ipaddress.IPv4Address], pieces: list[str],
                                                   data: st.DataObject) -> None:
    """Whatever surrounds them (digits, dots, brackets, ports), learned addresses do not survive `text`
    (placeholders, netmasks and the unspecified, loopback and broadcast addresses are not learned)."""
    redactor = Redactor()
    for ip in learned:
        redactor.address(str(ip))
    parts = [part for piece in pieces for part in (piece, str(data.draw(st.sampled_from(learned))))]
    out = redactor.text("".join(parts))
    for ip in learned:
        assert not re.search(rf"(?<![\d.]){re.escape(str(ip))}(?!\d)", out), (parts, out)


def test_event_copies_keep_numbers_and_the_original_untouched(tmp_path: Path) -> None:
    result = redact_capture("ikev2-psk", tmp_path)
    original, redacted = result.messages[0]
    assert (redacted.frame, redacted.sport, redacted.dport, redacted.length, redacted.time) == \
        (original.frame, original.sport, original.dport, original.length, original.time)
    assert original.src not in orjson.dumps(redacted).decode() and original.src in orjson.dumps(original).decode()
    assert len(redacted.spi_i) == 16 and int(redacted.spi_i, 16) != int(original.spi_i, 16)


def cli_redacts() -> bool:
    result = subprocess.run([sys.executable, "-m", "ikesniff", "--help"], capture_output=True, text=True, cwd=REPO,
                            check=False)
    return "--redact" in result.stdout


@pytest.mark.skipif(not cli_redacts(), reason="ikesniff has no --redact yet")
@pytest.mark.parametrize("name", ["ikev1-aggressive", "ikev2-psk", "ike-cert_synthetic", "test1"])
def test_cli_redact_json_report_and_w(name: str, tmp_path: Path) -> None:
    capture, key_files = CAPTURES[name]
    secrets = redact_capture(name, tmp_path).secrets
    keys = [argument for file in key_files for argument in ("--keys", str(file))]
    out = tmp_path / "out.pcap"
    runs = [["-r", str(capture), *keys, "--redact", "--json", "-w", str(out)],
            ["-r", str(capture), *keys, "--redact", "-v"],
            ["-r", str(capture), *keys, "--redact", "--report", str(tmp_path / "report.md")],
            ["-r", str(capture), *keys, "--redact", "--report", str(tmp_path / "report.html")],
            ["-r", str(capture), *keys, "--redact", "--report", str(tmp_path / "report.json")]]
    texts = []
    for arguments in runs:
        result = subprocess.run([sys.executable, "-m", "ikesniff", *arguments], capture_output=True, text=True,
                                cwd=REPO, check=False)
        assert result.returncode in (0, 1), result.stderr
        texts += [result.stdout, result.stderr]
    texts += [(tmp_path / f"report.{suffix}").read_text() for suffix in ("md", "html", "json")]
    assert not leaks(texts, secrets)
    pcap = out.read_bytes()
    assert not [address for address in secrets.addresses if ipaddress.ip_address(address).packed in pcap]
    assert not [spi.hex() for spi in secrets.spis if len(spi) == 8 and spi in pcap]
    assert not [name for name in secrets.names if len(name) >= 3 and name.encode() in pcap]
