"""What one gateway's configuration says it would offer and accept, in one model for every format.

The parsers of this package (swanctl.conf, ipsec.conf/ipsec.secrets in strongSwan's and libreswan's
dialects, vpnc.conf, Huawei ``display current-configuration``) all produce a `GatewayConfig`. Its
proposals are `Proposal` objects in the project's transform vocabulary (the names of
`ikesniff.offers`), so a configured proposal compares directly with an `Offer` read on the wire:
`Proposal.offer(version)` gives the `Offer` the gateway would send (or accept) in that IKE version.

Secrets: the model records *whether* a pre-shared key is configured and, for comparing two
configurations, a `PskFingerprint`: an HMAC-SHA256 of the key under a random key drawn once per
process. It compares equal to the fingerprint of the same key within this process and means nothing
outside it (no dictionary attack on a report or a log is possible); its repr never shows a byte. The
key itself is never stored. `to_dict()` gives the JSON form; it carries `psk_set`, never a fingerprint.

This module does no I/O and knows nothing of file formats, captures or diagnosis.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random
from dataclasses import dataclass, field, replace
from typing import Any

from ikesniff import offers as wire

__all__ = [
    "ChildConfig",
    "ConfigError",
    "ConnectionConfig",
    "GatewayConfig",
    "Proposal",
    "PskFingerprint",
    "SecretEntry",
]

_PROCESS_KEY = _random.token_bytes(32)

# IKEv1 phase 1 negotiates a hash, not an integrity transform: the IKEv2 integrity name -> IKEv1 hash.
INTEGRITY_AS_V1_HASH: dict[str, str] = {
    "HMAC-MD5-96": "MD5",
    "HMAC-SHA1-96": "SHA1",
    "HMAC-SHA2-256-128": "SHA2-256",
    "HMAC-SHA2-384-192": "SHA2-384",
    "HMAC-SHA2-512-256": "SHA2-512",
}
# An IKEv2 PRF names the same hash as an IKEv1 phase-1 hash (used when a proposal names only a PRF).
PRF_AS_V1_HASH: dict[str, str] = {
    "PRF-HMAC-MD5": "MD5",
    "PRF-HMAC-SHA1": "SHA1",
    "PRF-HMAC-SHA2-256": "SHA2-256",
    "PRF-HMAC-SHA2-384": "SHA2-384",
    "PRF-HMAC-SHA2-512": "SHA2-512",
}
# IKEv1 phase-1 authentication methods (offers.V1_AUTH_METHODS names) for a configured local method.
V1_AUTH_METHOD: dict[str, str] = {
    "psk": "PSK",
    "pubkey": "RSA-SIG",
    "rsa": "RSA-SIG",
    "ecdsa": "ECDSA-SIG",
    "xauth-psk": "XAUTH-INIT-PSK",
    "xauth-pubkey": "XAUTH-INIT-RSA",
    "hybrid": "HYBRID-INIT-RSA",
}


class ConfigError(Exception):
    """A configuration file cannot be read at all (the message is one line, fit for exit status 2)."""


class PskFingerprint:
    """A process-local keyed digest of a pre-shared key: equal for equal keys, printable as nothing."""

    __slots__ = ("_digest",)

    def __init__(self, secret: bytes) -> None:
        self._digest = hmac.new(_PROCESS_KEY, secret, hashlib.sha256).digest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PskFingerprint) and hmac.compare_digest(self._digest, other._digest)

    def __hash__(self) -> int:
        return hash(self._digest)

    def __repr__(self) -> str:
        return "PskFingerprint(<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Proposal:
    """One configured proposal, its algorithms in the names of `ikesniff.offers`."""

    text: str
    """The proposal as written ('aes128-sha256-modp2048', 'aes256-sha2_256;modp2048') or 'default ...'."""
    protocol: str
    """'IKE', 'ESP' or 'AH'."""
    encryption: tuple[str, ...] = ()
    """Ciphers with key length ('AES-CBC-128'); AEAD ciphers ('AES-GCM-16-256') carry no integrity."""
    integrity: tuple[str, ...] = ()
    """IKEv2 integrity names ('HMAC-SHA2-256-128'); () with AEAD ciphers."""
    prf: tuple[str, ...] = ()
    """IKEv2 PRFs ('PRF-HMAC-SHA2-256'); IKE only."""
    dh_groups: tuple[str, ...] = ()
    """IKE: the DH groups; ESP/AH: the PFS groups ('MODP-2048'), () meaning no PFS."""
    esn: tuple[str, ...] = ()
    """ESP/AH: 'ESN' and/or 'NO-ESN'."""
    default: bool = False
    """True when the format's default proposal stands here because none was configured."""
    v1_hash: tuple[str, ...] = ()
    """IKEv1 phase-1 hashes ('SHA2-256') when the format sets them apart from the IKEv2 integrity (Huawei's
    authentication-algorithm against integrity-algorithm); () derives them from integrity or PRF."""

    def offer(self, version: int, *, number: int = 1, auth_methods: tuple[str, ...] = (),
              lifetime_seconds: int | None = None, encapsulation: str | None = None) -> wire.Offer:
        """This proposal as an `Offer` of IKE `version` (1 or 2), comparable with offers read on the wire.

        IKEv1 phase 1 carries a hash instead of integrity and PRF, the authentication method and a
        lifetime; IKEv1 ESP/AH carry the encapsulation mode and a lifetime; IKEv2 carries neither."""
        if version == 1 and self.protocol == "IKE":
            hashes = list(self.v1_hash) or [INTEGRITY_AS_V1_HASH[name] for name in self.integrity
                                            if name in INTEGRITY_AS_V1_HASH]
            if not hashes:
                hashes = [PRF_AS_V1_HASH[name] for name in self.prf if name in PRF_AS_V1_HASH]
            return wire.Offer(number=number, protocol="IKE", encryption=self.encryption,
                              integrity=tuple(dict.fromkeys(hashes)), prf=(), dh_groups=self.dh_groups,
                              auth_methods=auth_methods, lifetime_seconds=lifetime_seconds,
                              lifetime_kilobytes=None, encapsulation=(), esn=(), version=1)
        if version == 1:
            mode = () if encapsulation is None else (encapsulation.upper(),)
            return wire.Offer(number=number, protocol=self.protocol, encryption=self.encryption,
                              integrity=self.integrity, prf=(), dh_groups=self.dh_groups, auth_methods=(),
                              lifetime_seconds=lifetime_seconds, lifetime_kilobytes=None,
                              encapsulation=mode, esn=self.esn or (wire.NO_ESN,), version=1)
        return wire.Offer(number=number, protocol=self.protocol, encryption=self.encryption,
                          integrity=self.integrity, prf=self.prf if self.protocol == "IKE" else (),
                          dh_groups=self.dh_groups, auth_methods=(), lifetime_seconds=None,
                          lifetime_kilobytes=None, encapsulation=(),
                          esn=(self.esn or (wire.NO_ESN,)) if self.protocol != "IKE" else (), version=2)

    @property
    def summary(self) -> str:
        """'AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048' (alternatives joined by '|')."""
        parts = ["|".join(values) for values in (self.encryption, self.integrity, self.prf, self.dh_groups)
                 if values]
        return "/".join(parts) or "(nothing)"


@dataclass(slots=True)
class SecretEntry:
    """A credential of the configuration: which identities it is for and its kind; never its value."""

    ids: tuple[str, ...]
    """Identity selectors (lower case, '@' prefixes removed); () matches every identity."""
    kind: str
    """'PSK', 'EAP', 'XAUTH', 'RSA', 'ECDSA', 'P12', 'NTLM', 'PIN', 'PRIVATE', ..."""
    fingerprint: PskFingerprint | None = field(default=None, repr=False, compare=False)
    """Process-local digest of a PSK (None for other kinds or an unreadable value)."""

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "kind": self.kind}


@dataclass(slots=True)
class ChildConfig:
    """One CHILD_SA / IPsec SA (phase 2) of a connection."""

    name: str
    esp_proposals: list[Proposal] = field(default_factory=list)
    ah_proposals: list[Proposal] = field(default_factory=list)
    local_ts: list[str] = field(default_factory=list)
    """Local traffic selectors: CIDR ('192.0.2.128/28'), ranges ('a-b') or 'dynamic' (the outer address)."""
    remote_ts: list[str] = field(default_factory=list)
    mode: str = "tunnel"
    """'tunnel', 'transport', 'beet', 'transport_proxy', 'pass', 'drop' or 'auto' (Huawei)."""
    lifetime_seconds: int | None = None
    """The hard lifetime the gateway states in IKEv1 quick mode (strongSwan: life_time)."""
    rekey_seconds: int | None = None
    ipcomp: bool = False

    @property
    def pfs_groups(self) -> tuple[str, ...]:
        """The PFS groups of every ESP/AH proposal, in order ('NONE' for a proposal without PFS)."""
        groups: list[str] = []
        for proposal in self.esp_proposals + self.ah_proposals:
            groups.extend(proposal.dh_groups or (wire.NONE,))
        return tuple(dict.fromkeys(groups))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "esp_proposals": [proposal.text for proposal in self.esp_proposals],
            "ah_proposals": [proposal.text for proposal in self.ah_proposals],
            "esp": [proposal.summary for proposal in self.esp_proposals],
            "ah": [proposal.summary for proposal in self.ah_proposals],
            "local_ts": list(self.local_ts),
            "remote_ts": list(self.remote_ts),
            "mode": self.mode,
            "pfs_groups": list(self.pfs_groups),
            "lifetime_seconds": self.lifetime_seconds,
            "rekey_seconds": self.rekey_seconds,
            "ipcomp": self.ipcomp,
        }


@dataclass(slots=True)
class ConnectionConfig:
    """One IKE connection: what this side offers and accepts in phase 1, and its CHILD_SAs."""

    name: str
    local_addrs: list[str] = field(default_factory=list)
    """Addresses, ranges, subnets or names this side speaks IKE from ('%any' for any)."""
    remote_addrs: list[str] = field(default_factory=list)
    version: int | None = None
    """1, 2, or None when the connection accepts both (it then initiates with IKEv2)."""
    ike_proposals: list[Proposal] = field(default_factory=list)
    local_id: str | None = None
    """The identity this side sends; None when the format's default applies (its address)."""
    remote_id: str | None = None
    """The identity this side requires of the peer; None or '%any' for any."""
    local_auth: list[str] = field(default_factory=list)
    """Authentication rounds of this side: 'psk', 'pubkey', 'eap-<method>', 'xauth', 'xauth-psk', ..."""
    remote_auth: list[str] = field(default_factory=list)
    psk_set: bool = False
    """A PSK this connection would use is configured (its value is never kept)."""
    aggressive: bool = False
    """IKEv1 aggressive mode instead of main mode."""
    ike_lifetime_seconds: int | None = None
    """The IKE SA hard lifetime the gateway states in IKEv1 phase 1."""
    dpd_delay_seconds: int | None = None
    dpd_timeout_seconds: int | None = None
    mobike: bool | None = None
    fragmentation: str | None = None
    """'yes', 'accept', 'force', 'no' (None: format default)."""
    encap: bool | None = None
    """True when UDP encapsulation of ESP is forced (strongSwan encap/forceencaps, libreswan encapsulation)."""
    nat_traversal: bool | None = None
    children: list[ChildConfig] = field(default_factory=list)
    sided_by_convention: bool = False
    """ipsec.conf: left was taken as local by convention; the other gateway's copy may be mirrored."""
    psk: PskFingerprint | None = field(default=None, repr=False, compare=False)
    """Process-local digest of the PSK this connection would use (see `PskFingerprint`)."""

    @property
    def esp_proposals(self) -> list[Proposal]:
        """Every child's ESP proposals (most connections have one child)."""
        return [proposal for child in self.children for proposal in child.esp_proposals]

    @property
    def ah_proposals(self) -> list[Proposal]:
        return [proposal for child in self.children for proposal in child.ah_proposals]

    @property
    def pfs_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(group for child in self.children for group in child.pfs_groups))

    @property
    def auth_methods(self) -> list[str]:
        return list(dict.fromkeys(self.local_auth + self.remote_auth))

    def ike_offers(self, version: int) -> list[wire.Offer]:
        """The IKE proposals as offers of IKE `version` (IKEv1: with authentication method and lifetime)."""
        method = v1_auth_method(self.local_auth)
        methods = (method,) if method else ()
        return [proposal.offer(version, number=number, auth_methods=methods,
                               lifetime_seconds=self.ike_lifetime_seconds)
                for number, proposal in enumerate(self.ike_proposals, 1)]

    def mirrored(self) -> ConnectionConfig:
        """The same connection seen from the other end (left and right exchanged)."""
        children = [replace(child, local_ts=list(child.remote_ts), remote_ts=list(child.local_ts))
                    for child in self.children]
        return replace(self, local_addrs=list(self.remote_addrs), remote_addrs=list(self.local_addrs),
                       local_id=self.remote_id, remote_id=self.local_id, local_auth=list(self.remote_auth),
                       remote_auth=list(self.local_auth), children=children)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "local_addrs": list(self.local_addrs),
            "remote_addrs": list(self.remote_addrs),
            "version": self.version,
            "ike_proposals": [proposal.text for proposal in self.ike_proposals],
            "ike": [proposal.summary for proposal in self.ike_proposals],
            "local_id": self.local_id,
            "remote_id": self.remote_id,
            "local_auth": list(self.local_auth),
            "remote_auth": list(self.remote_auth),
            "psk_set": self.psk_set,
            "aggressive": self.aggressive,
            "ike_lifetime_seconds": self.ike_lifetime_seconds,
            "dpd_delay_seconds": self.dpd_delay_seconds,
            "dpd_timeout_seconds": self.dpd_timeout_seconds,
            "mobike": self.mobike,
            "fragmentation": self.fragmentation,
            "encap": self.encap,
            "nat_traversal": self.nat_traversal,
            "children": [child.to_dict() for child in self.children],
        }


def v1_auth_method(local_auth: list[str]) -> str | None:
    """The IKEv1 phase-1 authentication method a connection's local rounds stand for ('PSK', ...)."""
    if not local_auth:
        return None
    first = local_auth[0]
    xauth = any(method.startswith("xauth") for method in local_auth[1:])
    if first.startswith("xauth"):
        return "HYBRID-INIT-RSA" if first == "xauth" else V1_AUTH_METHOD.get(first)
    base = "psk" if first == "psk" else "pubkey" if first in ("pubkey", "rsa", "ecdsa") else first
    if xauth:
        return V1_AUTH_METHOD.get(f"xauth-{base}")
    return V1_AUTH_METHOD.get(first) or V1_AUTH_METHOD.get(base)


@dataclass(slots=True)
class GatewayConfig:
    """Everything read from one configuration file."""

    source: str
    """The name the file was given as (a path or a label)."""
    format: str
    """'swanctl', 'strongswan-ipsec.conf', 'libreswan-ipsec.conf', 'ipsec.secrets', 'strongswan.conf', 'vpnc',
    'huawei', 'empty' or 'unknown'."""
    connections: list[ConnectionConfig] = field(default_factory=list)
    secrets: list[SecretEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was skipped or only noted: unknown keys, includes not followed, unreadable lines."""
    daemon: dict[str, str] | None = None
    """strongSwan daemon settings that change what a peer is accepted with (strongswan.conf ``charon.*``
    keys, e.g. 'i_dont_care_about_security_and_use_aggressive_mode_psk'); None when no strongswan.conf
    was given."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "connections": [connection.to_dict() for connection in self.connections],
            "secrets": [secret.to_dict() for secret in self.secrets],
            "daemon": None if self.daemon is None else dict(self.daemon),
            "notes": list(self.notes),
        }
