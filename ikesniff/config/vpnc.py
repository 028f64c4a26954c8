"""vpnc.conf (the Cisco EasyVPN client) -> `GatewayConfig`.

vpnc(8): one ``Keyword value`` per line (the keyword may contain spaces; ``#`` comments);
``IPSec gateway``, ``IPSec ID`` (the group name, sent as a KEY_ID identity), ``IPSec secret`` or
``IPSec obfuscated secret`` (the group PSK), ``Xauth username``/``Xauth password``, ``IKE Authmode``
psk (default) / cert / hybrid, ``IKE DH Group`` dh1/dh2/dh5 (default dh2), ``Perfect Forward Secrecy``
nopfs/dh1/dh2/dh5/server (default server: the gateway's choice), ``NAT Traversal Mode`` natt
(default) / none / force-natt / cisco-udp, ``DPD idle timeout (our side)`` seconds (0 disables),
``Enable Single DES``, ``Enable no encryption``, ``Local Port``, ``Vendor`` cisco/netscreen.

What vpnc offers is fixed by the program (IKEv1 aggressive mode with XAUTH): phase 1 AES-256/192/128
and 3DES (DES with ``Enable Single DES``) each with MD5 or SHA1 and the configured DH group,
authentication XAUTH-INIT-PSK (``psk``), XAUTH-INIT-RSA (``cert``) or HYBRID-INIT-RSA (``hybrid``);
quick mode ESP with the same ciphers (NULL with ``Enable no encryption``) and HMAC-MD5-96/HMAC-SHA1-96.
Traffic selectors come from the gateway by mode config, so they are left unknown here.
"""

from __future__ import annotations

import re

from ikesniff import offers as wire

from .model import ChildConfig, ConnectionConfig, GatewayConfig, Proposal, PskFingerprint, SecretEntry
from .swanctl import _identity

__all__ = ["parse_vpnc"]

KEYWORDS = (
    "IPSec gateway", "IPSec ID", "IPSec secret", "IPSec obfuscated secret", "Xauth username", "Xauth password",
    "Xauth obfuscated password", "Xauth interactive", "Domain", "IKE Authmode", "IKE DH Group",
    "Perfect Forward Secrecy", "NAT Traversal Mode", "DPD idle timeout (our side)", "Enable Single DES",
    "Enable no encryption", "Local Port", "Local Addr", "Vendor", "Application version", "Interface name",
    "Interface mode", "Interface MTU", "Debug", "No Detach", "Pidfile", "Script", "CA-File", "CA-Dir",
    "IPSec target network", "Cisco UDP Encapsulation Port", "NAT-Keepalive packet interval", "Noninteractive",
    "IKE Lifetime", "IPSec Lifetime",
)
GROUPS = {"dh1": "MODP-768", "dh2": "MODP-1024", "dh5": "MODP-1536"}
AUTH = {"psk": "xauth-psk", "cert": "xauth-pubkey", "hybrid": "xauth"}


def parse_vpnc(text: str, source: str) -> GatewayConfig:
    """A vpnc.conf text (never raises)."""
    config = GatewayConfig(source=source, format="vpnc")
    values: dict[str, str] = {}
    by_length = sorted(KEYWORDS, key=len, reverse=True)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("IPSec secret") else raw.strip()
        if not line:
            continue
        keyword = next((word for word in by_length if line.lower().startswith(word.lower())
                        and (len(line) == len(word) or line[len(word)].isspace())), None)
        if keyword is None:
            config.notes.append(f"line {number}: unknown keyword in {line.split()[0]!r}... skipped")
            continue
        values[keyword] = line[len(keyword):].strip()
    if "IPSec gateway" not in values:
        config.notes.append("no 'IPSec gateway': not a complete vpnc configuration")
        if not values:
            return config
    secret = values.get("IPSec secret")
    obfuscated = values.get("IPSec obfuscated secret")
    group = values.get("IPSec ID")
    if secret is not None or obfuscated is not None:
        fingerprint = PskFingerprint(secret.encode()) if secret is not None else None
        config.secrets.append(SecretEntry((_identity(group),) if group else (), "PSK", fingerprint))
    authmode = values.get("IKE Authmode", "psk").lower()
    dh = GROUPS.get(values.get("IKE DH Group", "dh2").lower())
    if dh is None:
        config.notes.append(f"IKE DH Group {values.get('IKE DH Group')!r} unknown; dh2 assumed")
        dh = GROUPS["dh2"]
    ciphers: tuple[str, ...] = ("AES-CBC-256", "AES-CBC-192", "AES-CBC-128", "3DES")
    if _yes(values.get("Enable Single DES")):
        ciphers += ("DES",)
    ike = Proposal("vpnc phase 1", "IKE", ciphers, ("HMAC-MD5-96", "HMAC-SHA1-96"),
                   ("PRF-HMAC-MD5", "PRF-HMAC-SHA1"), (dh,))
    pfs_text = values.get("Perfect Forward Secrecy", "server").lower()
    pfs: tuple[str, ...]
    if pfs_text == "nopfs":
        pfs = ()
    elif pfs_text in GROUPS:
        pfs = (GROUPS[pfs_text],)
    else:
        pfs = ("MODP-768", "MODP-1024", "MODP-1536", wire.NONE)  # 'server': whatever the gateway asks
    esp_ciphers = ciphers + (("NULL",) if _yes(values.get("Enable no encryption")) else ())
    esp = Proposal("vpnc quick mode", "ESP", esp_ciphers, ("HMAC-MD5-96", "HMAC-SHA1-96"), (),
                   tuple(group for group in pfs if group != wire.NONE) if pfs_text != "server" else pfs,
                   (wire.NO_ESN,))
    nat = values.get("NAT Traversal Mode", "natt").lower()
    dpd = values.get("DPD idle timeout (our side)")
    dpd_seconds = int(dpd) if dpd and re.fullmatch(r"\d+", dpd) else None
    connection = ConnectionConfig(
        name=group or "vpnc", local_addrs=[values.get("Local Addr", "%any")],
        remote_addrs=[values.get("IPSec gateway", "%any")], version=1, ike_proposals=[ike],
        local_id=group, remote_id=None, local_auth=[AUTH.get(authmode, "xauth-psk"), "xauth"],
        remote_auth=["pubkey" if authmode in ("cert", "hybrid") else "psk"], aggressive=True,
        dpd_delay_seconds=dpd_seconds or None, nat_traversal=nat != "none", encap=nat in ("force-natt", "cisco-udp"),
        children=[ChildConfig(name="tunnel", esp_proposals=[esp], local_ts=[], remote_ts=[], mode="tunnel")],
    )
    connection.local_auth = ["xauth-psk"] if authmode == "psk" else [AUTH.get(authmode, "xauth")]
    if connection.local_auth == ["xauth-psk"] and config.secrets:
        connection.psk_set = True
        connection.psk = config.secrets[0].fingerprint
    config.connections.append(connection)
    return config


def _yes(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("", "yes", "1", "true")
