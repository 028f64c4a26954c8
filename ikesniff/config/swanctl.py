"""swanctl.conf (strongSwan's settings grammar) -> `GatewayConfig`.

The grammar (strongswan.conf(5)): ``name { ... }`` sections, ``key = value`` lines ending at the
newline (double quotes keep spaces, ``\\"`` escapes, a quoted value may span lines), ``#`` comments,
``include PATH`` (noted, not followed: this module reads no files), and section references
``name : a, b { ... }`` whose keys and subsections the section inherits (resolved here, cycles
ignored). Sections of the same name merge; a later value replaces an earlier one.

What swanctl.conf(5) says an absent key means is applied here: ``version = 0`` (any),
``proposals``/``esp_proposals`` ``default``, ``local_ts``/``remote_ts`` ``dynamic``, ``mode tunnel``,
``aggressive no``, ``rekey_time 4h`` with ``over_time`` 10 % of it (IKEv1 states their sum as its
phase-1 lifetime), CHILD ``rekey_time 1h`` and ``life_time`` 10 % more, ``mobike yes``,
``fragmentation yes``, ``encap no``, local ``auth pubkey``, remote ``id %any``.

Pure functions of text; unknown keys are listed in the notes, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import algorithms
from .model import ChildConfig, ConnectionConfig, GatewayConfig, PskFingerprint, SecretEntry

__all__ = ["DAEMON_KEYS", "Section", "attach_secrets", "parse_settings", "parse_strongswan_conf", "parse_swanctl",
           "seconds"]


@dataclass
class Section:
    """One section of the settings grammar: its values, subsections (in order) and references."""

    values: dict[str, str] = field(default_factory=dict)
    sections: dict[str, Section] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)

    def merge(self, other: Section) -> None:
        self.values.update(other.values)
        for name, section in other.sections.items():
            if name in self.sections:
                self.sections[name].merge(section)
            else:
                self.sections[name] = section
        self.references.extend(other.references)


_NAME = re.compile(r"[^\s{}=:,#\"]+")


def parse_settings(text: str, notes: list[str]) -> Section:
    """The section tree of a strongswan.conf/swanctl.conf text; problems go to `notes` (never raises)."""
    root = Section()
    stack = [root]
    position, length, line = 0, len(text), 1

    def skip_blank() -> None:
        nonlocal position, line
        while position < length:
            char = text[position]
            if char == "\n":
                line += 1
                position += 1
            elif char.isspace():
                position += 1
            elif char == "#":
                end = text.find("\n", position)
                position = length if end < 0 else end
            else:
                return

    def rest_of_line() -> str:
        nonlocal position
        end = text.find("\n", position)
        end = length if end < 0 else end
        chunk = text[position:end]
        position = end
        return chunk

    while True:
        skip_blank()
        if position >= length:
            break
        if text[position] == "}":
            position += 1
            if len(stack) > 1:
                stack.pop()
            else:
                notes.append(f"line {line}: unmatched '}}' ignored")
            continue
        match = _NAME.match(text, position)
        if match is None:
            notes.append(f"line {line}: unreadable text skipped")
            rest_of_line()
            continue
        name = match.group()
        position = match.end()
        while position < length and text[position] in " \t":
            position += 1
        following = text[position] if position < length else "\n"
        if name == "include" and following not in "={:":
            notes.append(f"line {line}: include {rest_of_line().strip()} not followed")
            continue
        if following == "=":
            position += 1
            while position < length and text[position] in " \t":
                position += 1
            if position < length and text[position] == '"':
                value, position, line = _quoted(text, position + 1, line)
                rest_of_line()
            else:
                # an unquoted value ends at the newline, a comment or a closing brace
                end = position
                while end < length and text[end] not in "\n#}":
                    end += 1
                value = text[position:end].strip()
                position = end
            stack[-1].values[name] = value
        elif following in "{:":
            references: list[str] = []
            if following == ":":
                brace = text.find("{", position)
                if brace < 0:
                    notes.append(f"line {line}: section {name!r} without '{{' skipped")
                    rest_of_line()
                    continue
                references = [ref.strip() for ref in text[position + 1:brace].split(",") if ref.strip()]
                line += text.count("\n", position, brace)
                position = brace
            position += 1
            section = stack[-1].sections.get(name)
            if section is None:
                section = stack[-1].sections[name] = Section()
            section.references.extend(references)
            stack.append(section)
        else:
            notes.append(f"line {line}: neither a key nor a section, skipped")  # the text may be a secret
            rest_of_line()
    if len(stack) > 1:
        notes.append("file ends inside a section (missing '}')")
    return root


def _quoted(text: str, position: int, line: int) -> tuple[str, int, int]:
    out: list[str] = []
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            out.append(escapes.get(text[position + 1], text[position + 1]))
            position += 2
            continue
        if char == '"':
            return "".join(out), position + 1, line
        if char == "\n":
            line += 1
        out.append(char)
        position += 1
    return "".join(out), position, line


def _resolve(section: Section, root: Section, depth: int = 0) -> Section:
    """`section` with its references' keys and subsections inherited (its own settings win)."""
    if not section.references or depth > 8:
        return section
    merged = Section()
    for reference in section.references:
        node: Section | None = root
        for part in reference.split("."):
            node = node.sections.get(part) if node is not None else None
        if node is not None:
            merged.merge(_resolve(node, root, depth + 1))
    own = Section(dict(section.values), dict(section.sections), [])
    merged.merge(own)
    return merged


def seconds(value: str | None) -> int | None:
    """'4h' -> 14400, '90' -> 90, '1.5h' -> 5400; None for an empty or unreadable value."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
    if match is None:
        return None
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(float(match.group(1)) * unit)


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _yes(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("yes", "true", "enabled", "1")


KNOWN_CONNECTION_KEYS = frozenset({
    "version", "local_addrs", "remote_addrs", "local_port", "remote_port", "proposals", "vips", "aggressive",
    "pull", "dscp", "encap", "mobike", "dpd_delay", "dpd_timeout", "fragmentation", "childless", "send_certreq",
    "send_cert", "ppk_id", "ppk_required", "keyingtries", "unique", "reauth_time", "rekey_time", "over_time",
    "rand_time", "pools", "if_id_in", "if_id_out", "mediation", "mediated_by", "mediation_peer", "close_action",
})
KNOWN_AUTH_KEYS = frozenset({
    "round", "certs", "pubkeys", "auth", "id", "eap_id", "aaa_id", "xauth_id", "groups", "cert_policy",
    "cacerts", "ca_id", "revocation",
})
KNOWN_CHILD_KEYS = frozenset({
    "ah_proposals", "esp_proposals", "sha256_96", "local_ts", "remote_ts", "rekey_time", "life_time", "rand_time",
    "rekey_bytes", "life_bytes", "rand_bytes", "rekey_packets", "life_packets", "rand_packets", "updown",
    "hostaccess", "mode", "policies", "policies_fwd_out", "dpd_action", "ipcomp", "inactivity", "reqid",
    "priority", "interface", "mark_in", "mark_in_sa", "mark_out", "set_mark_in", "set_mark_out", "if_id_in",
    "if_id_out", "label", "label_mode", "tfc_padding", "replay_window", "hw_offload", "copy_df", "copy_ecn",
    "copy_dscp", "start_action", "close_action", "per_cpu_sas",
})
# swanctl.conf(5) secrets.<type><suffix>: the section name's prefix says the kind of credential.
SECRET_KINDS: tuple[tuple[str, str], ...] = (
    ("ike", "PSK"), ("eap", "EAP"), ("xauth", "XAUTH"), ("ntlm", "NTLM"), ("ppk", "PPK"), ("private", "PRIVATE"),
    ("rsa", "RSA"), ("ecdsa", "ECDSA"), ("pkcs8", "PKCS8"), ("pkcs12", "PKCS12"), ("token", "TOKEN"),
)
TOP_SECTIONS = frozenset({"connections", "secrets", "pools", "authorities", "include"})


def parse_swanctl(text: str, source: str) -> GatewayConfig:
    """A swanctl.conf text (never raises; problems are notes)."""
    config = GatewayConfig(source=source, format="swanctl")
    root = parse_settings(text, config.notes)
    for name in root.sections:
        if name not in TOP_SECTIONS:
            config.notes.append(f"section {name!r} is not part of swanctl.conf, skipped")
    connections = root.sections.get("connections", Section())
    for name, raw in connections.sections.items():
        config.connections.append(_connection(name, _resolve(raw, root), root, config.notes))
    secrets = _resolve(root.sections.get("secrets", Section()), root)
    for name, raw in secrets.sections.items():
        section = _resolve(raw, root)
        kind = next((kind for prefix, kind in SECRET_KINDS if name.lower().startswith(prefix)), name.upper())
        ids = tuple(_identity(value) for key, value in section.values.items() if key.startswith("id"))
        secret = section.values.get("secret")
        fingerprint = PskFingerprint(_secret_bytes(secret)) if secret and kind == "PSK" else None
        config.secrets.append(SecretEntry(ids, kind, fingerprint))
    attach_secrets(config)
    return config


def _secret_bytes(value: str) -> bytes:
    """A strongSwan secret as bytes: '0x' hex and '0s' base64 are decoded (ipsec.secrets(5))."""
    import base64
    import binascii
    try:
        if value.startswith("0x"):
            return bytes.fromhex(value[2:])
        if value.startswith("0s"):
            return base64.b64decode(value[2:], validate=True)
    except (ValueError, binascii.Error):
        pass
    return value.encode()


def _identity(value: str) -> str:
    value = value.strip().strip('"').strip()
    return value.lstrip("@").lower()


def _connection(name: str, section: Section, root: Section, notes: list[str]) -> ConnectionConfig:
    values = section.values
    for key in values:
        if key not in KNOWN_CONNECTION_KEYS:
            notes.append(f"unknown key connections.{name}.{key} skipped")
    version_text = values.get("version", "0").strip()
    version = {"1": 1, "2": 2}.get(version_text)
    unknown: list[str] = []
    proposals = algorithms.strongswan_proposals(values.get("proposals", "default"), "IKE", unknown)
    local_rounds = [(key, _resolve(sub, root)) for key, sub in section.sections.items() if key.startswith("local")]
    remote_rounds = [(key, _resolve(sub, root)) for key, sub in section.sections.items() if key.startswith("remote")]
    for key, sub in local_rounds + remote_rounds:
        for item in sub.values:
            if item not in KNOWN_AUTH_KEYS:
                notes.append(f"unknown key connections.{name}.{key}.{item} skipped")
    local_auth = [_auth(sub.values.get("auth", "pubkey")) for _, sub in local_rounds] or ["pubkey"]
    remote_auth = [_auth(sub.values.get("auth", "pubkey")) for _, sub in remote_rounds] or ["pubkey"]
    local_id = next((sub.values["id"] for _, sub in local_rounds if sub.values.get("id")), None)
    remote_id = next((sub.values["id"] for _, sub in remote_rounds if sub.values.get("id")), None)
    rekey = seconds(values.get("rekey_time")) if "rekey_time" in values else 4 * 3600
    reauth = seconds(values.get("reauth_time")) or 0
    if reauth and "rekey_time" not in values:
        rekey = 0
    longest = max(rekey or 0, reauth)
    over = seconds(values.get("over_time")) if "over_time" in values else longest // 10
    children: list[ChildConfig] = []
    for child_name, raw_child in section.sections.get("children", Section()).sections.items():
        children.append(_child(name, child_name, _resolve(raw_child, root), notes, unknown))
    for key in section.sections:
        if not key.startswith(("local", "remote", "children")):
            notes.append(f"unknown section connections.{name}.{key} skipped")
    for keyword in dict.fromkeys(unknown):
        notes.append(f"connection {name}: proposal skipped: {keyword!r} not recognised or refused")
    return ConnectionConfig(
        name=name,
        local_addrs=_list(values.get("local_addrs")) or ["%any"],
        remote_addrs=_list(values.get("remote_addrs")) or ["%any"],
        version=version,
        ike_proposals=proposals,
        local_id=local_id,
        remote_id=remote_id,
        local_auth=local_auth,
        remote_auth=remote_auth,
        aggressive=bool(_yes(values.get("aggressive"))),
        ike_lifetime_seconds=(longest + (over or 0)) or None,
        dpd_delay_seconds=seconds(values.get("dpd_delay")),
        dpd_timeout_seconds=seconds(values.get("dpd_timeout")),
        mobike=_yes(values.get("mobike", "yes")),
        fragmentation=values.get("fragmentation", "yes").strip().lower(),
        encap=_yes(values.get("encap", "no")),
        children=children,
    )


def _auth(value: str) -> str:
    """'psk', 'pubkey', 'eap-mschapv2', 'xauth', ...; signature constraints ('rsa-2048', 'ike:pubkey-sha256')
    reduce to 'pubkey'."""
    method = value.strip().lower().removeprefix("ike:")
    if method.startswith(("pubkey", "rsa", "ecdsa", "ed25519", "ed448", "bliss")):
        return "pubkey"
    return method


def _child(connection: str, name: str, section: Section, notes: list[str], unknown: list[str]) -> ChildConfig:
    values = section.values
    for key in values:
        if key not in KNOWN_CHILD_KEYS:
            notes.append(f"unknown key connections.{connection}.children.{name}.{key} skipped")
    ah = algorithms.strongswan_proposals(values["ah_proposals"], "AH", unknown) if values.get("ah_proposals") \
        else []
    esp_text = values.get("esp_proposals")
    if esp_text:
        esp = algorithms.strongswan_proposals(esp_text, "ESP", unknown)
    else:
        esp = [] if ah else list(algorithms.STRONGSWAN_DEFAULT_ESP)
    rekey = seconds(values.get("rekey_time")) if "rekey_time" in values else 3600
    life = seconds(values.get("life_time")) if "life_time" in values else (rekey or 0) * 11 // 10
    return ChildConfig(
        name=name, esp_proposals=esp, ah_proposals=ah,
        local_ts=_list(values.get("local_ts")) or ["dynamic"],
        remote_ts=_list(values.get("remote_ts")) or ["dynamic"],
        mode=values.get("mode", "tunnel").strip().lower(),
        lifetime_seconds=life or None, rekey_seconds=rekey or None,
        ipcomp=bool(_yes(values.get("ipcomp"))),
    )


def attach_secrets(config: GatewayConfig) -> None:
    """Set each connection's `psk_set`/`psk` from the configuration's PSK entries.

    An entry without identities matches every connection; otherwise it must name the connection's
    local or remote identity (or address). The most specific entry (most identities matched) wins."""
    for connection in config.connections:
        if "psk" not in connection.local_auth + connection.remote_auth and not any(
                method.startswith("xauth-psk") for method in connection.local_auth):
            continue
        wanted = {_identity(value) for value in (connection.local_id, connection.remote_id) if value}
        wanted |= {_identity(value) for value in connection.local_addrs + connection.remote_addrs}
        best: tuple[int, SecretEntry] | None = None
        for entry in config.secrets:
            if entry.kind != "PSK":
                continue
            score = len(set(entry.ids) & wanted) if entry.ids else 0
            if entry.ids and score == 0 and not {"%any", "%any6", "0.0.0.0"} & set(entry.ids):
                continue
            if best is None or score > best[0]:
                best = (score, entry)
        if best is not None:
            connection.psk_set = True
            connection.psk = best[1].fingerprint


# strongswan.conf(5) charon.* settings that decide whether a peer's negotiation is accepted.
DAEMON_KEYS = frozenset({
    "i_dont_care_about_security_and_use_aggressive_mode_psk", "accept_unencrypted_mainmode_messages",
    "accept_private_algs", "prefer_configured_proposals", "cookie_threshold", "fragment_size", "make_before_break",
    "retransmit_tries", "retransmit_timeout", "retransmit_base", "half_open_timeout", "ikesa_limit",
    "init_limit_half_open", "reuse_ikesa", "signature_authentication", "signature_authentication_constraints",
    "send_vendor_id", "follow_redirects", "port", "port_nat_t",
})


def parse_strongswan_conf(text: str, source: str) -> GatewayConfig:
    """strongswan.conf: the daemon settings of `DAEMON_KEYS` (top-level ``charon`` keys), no connections."""
    config = GatewayConfig(source=source, format="strongswan.conf")
    root = parse_settings(text, config.notes)
    charon = root.sections.get("charon", Section())
    config.daemon = {key: value for key, value in charon.values.items() if key in DAEMON_KEYS}
    return config


def allows_aggressive_psk(config: GatewayConfig) -> bool | None:
    """Whether charon accepts IKEv1 aggressive mode with a PSK as responder (None: strongswan.conf not given)."""
    if config.daemon is None:
        return None
    return _yes(config.daemon.get("i_dont_care_about_security_and_use_aggressive_mode_psk")) is True
