"""Gateway configurations (``--config FILE``): what each side would offer and accept, and how it differs.

`parse_config(text, name)` recognises the format and returns a `GatewayConfig`; the per-format
functions (`parse_swanctl`, `parse_ipsec_conf`, `parse_ipsec_secrets`, `parse_vpnc`, `parse_huawei`) do
the same without guessing. `combine(configs)` joins each ipsec.secrets file to the ipsec.conf it belongs
to. `compare_configs(a, b)` and `compare_with_offers(config, offers, side)` name what differs
(`Difference`, with a SPEC section 5 code and the side to change).

`read_config(data, name)` is the one function that accepts bytes (as read from a file by the caller)
and raises `ConfigError` with a one-line message when they cannot be a configuration (binary, not
UTF-8/Latin-1 text). Everything here is sans-IO: no file is opened, no include followed.
"""

from __future__ import annotations

import re

from .compare import Difference, compare_configs, compare_with_offers
from .huawei import looks_like_huawei, parse_huawei
from .ipsecconf import combine_secrets, detect_dialect, parse_ipsec_conf, parse_ipsec_secrets
from .model import (
    ChildConfig,
    ConfigError,
    ConnectionConfig,
    GatewayConfig,
    Proposal,
    PskFingerprint,
    SecretEntry,
)
from .swanctl import parse_strongswan_conf, parse_swanctl
from .vpnc import parse_vpnc

__all__ = [
    "FORMATS",
    "ChildConfig",
    "ConfigError",
    "ConnectionConfig",
    "Difference",
    "GatewayConfig",
    "Proposal",
    "PskFingerprint",
    "SecretEntry",
    "combine",
    "compare_configs",
    "compare_with_offers",
    "detect_format",
    "parse_config",
    "parse_huawei",
    "parse_ipsec_conf",
    "parse_ipsec_secrets",
    "parse_strongswan_conf",
    "parse_swanctl",
    "parse_vpnc",
    "read_config",
]

FORMATS = ("swanctl", "strongswan-ipsec.conf", "libreswan-ipsec.conf", "ipsec.secrets", "strongswan.conf", "vpnc",
           "huawei")


def detect_format(text: str, name: str = "") -> str | None:
    """The format of a configuration text, from its content first and its file name second; None if unknown."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "!")))
    lowered = name.lower()
    if re.search(r"^\s*(connections|secrets|authorities|pools)\s*(:[^{]*)?\{", body, re.MULTILINE):
        return "swanctl"
    if re.search(r"^\s*(charon|libstrongswan|charon-systemd|starter)\s*\{", body, re.MULTILINE):
        return "strongswan.conf"
    if re.search(r"^(conn|config|ca)\s+\S+\s*$", body, re.MULTILINE):
        return f"{detect_dialect(body)}-ipsec.conf"
    if re.search(r"^IPSec (gateway|ID|secret|obfuscated secret)\b", body, re.MULTILINE | re.IGNORECASE):
        return "vpnc"
    if looks_like_huawei(body):
        return "huawei"
    if re.search(r"(^|\s):\s+(PSK|RSA|ECDSA|EAP|XAUTH|P12|NTLM|PIN)\b", body, re.MULTILINE):
        return "ipsec.secrets"
    for suffix, format_name in ((".secrets", "ipsec.secrets"), ("swanctl.conf", "swanctl"),
                                ("strongswan.conf", "strongswan.conf"),
                                ("vpnc.conf", "vpnc"), ("ipsec.conf", f"{detect_dialect(body)}-ipsec.conf")):
        if lowered.endswith(suffix):
            return format_name
    return None


def parse_config(text: str, name: str, format: str | None = None) -> GatewayConfig:
    """A configuration text as a `GatewayConfig`; never raises. An empty or unrecognised text gives a
    configuration without connections whose notes say why."""
    chosen = format or detect_format(text, name)
    if chosen is None:
        config = GatewayConfig(source=name, format="empty" if not text.strip() else "unknown")
        config.notes.append("empty file" if not text.strip() else
                            "not a recognised configuration (swanctl.conf, ipsec.conf, ipsec.secrets, vpnc.conf, "
                            "Huawei current-configuration)")
        return config
    if chosen == "swanctl":
        return parse_swanctl(text, name)
    if chosen.endswith("ipsec.conf"):
        return parse_ipsec_conf(text, name, chosen.split("-")[0])
    if chosen == "ipsec.secrets":
        return parse_ipsec_secrets(text, name)
    if chosen == "strongswan.conf":
        return parse_strongswan_conf(text, name)
    if chosen == "vpnc":
        return parse_vpnc(text, name)
    if chosen == "huawei":
        return parse_huawei(text, name)
    config = GatewayConfig(source=name, format="unknown")
    config.notes.append(f"format {chosen!r} is not one of {', '.join(FORMATS)}")
    return config


def read_config(data: bytes, name: str, format: str | None = None) -> GatewayConfig:
    """Bytes read from a file -> `GatewayConfig`; `ConfigError` (one line) when they are not text."""
    if b"\x00" in data[:4096]:
        raise ConfigError(f"{name}: binary data, not a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.removeprefix("\ufeff")
    config = parse_config(text, name, format)
    if config.format == "unknown":
        raise ConfigError(f"{name}: {config.notes[-1]}")
    return config


def combine(configs: list[GatewayConfig]) -> list[GatewayConfig]:
    """The configurations with each ipsec.secrets joined to its ipsec.conf and each strongswan.conf to its
    swanctl.conf or strongSwan ipsec.conf.

    A helper file goes to the configuration of the same directory; failing that, to the only one of
    the right kind given. A helper file that fits nowhere stays in the list on its own."""
    def directory(source: str) -> str:
        return source.rsplit("/", 1)[0] if "/" in source else ""

    def target(helper: GatewayConfig, kinds: tuple[str, ...]) -> GatewayConfig | None:
        candidates = [config for config in configs if config.format in kinds]
        same = [config for config in candidates if directory(config.source) == directory(helper.source)]
        return same[0] if len(same) == 1 else candidates[0] if len(candidates) == 1 else None

    result: list[GatewayConfig] = []
    for config in configs:
        if config.format == "ipsec.secrets":
            owner = target(config, ("strongswan-ipsec.conf", "libreswan-ipsec.conf"))
            if owner is not None:
                combine_secrets(owner, config)
                continue
        elif config.format == "strongswan.conf":
            owner = target(config, ("swanctl", "strongswan-ipsec.conf"))
            if owner is not None:
                owner.daemon = dict(config.daemon or {})
                owner.notes.extend(f"{config.source}: {note}" for note in config.notes)
                continue
        result.append(config)
    return result
