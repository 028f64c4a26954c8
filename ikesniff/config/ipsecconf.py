"""ipsec.conf (strongSwan and libreswan dialects) and ipsec.secrets -> `GatewayConfig`.

ipsec.conf (strongSwan ipsec.conf(5), libreswan ipsec.conf(5)): ``config setup``, ``conn NAME`` and
``ca NAME`` sections; parameter lines start with white space (``key=value``, spaces around ``=``
allowed, double quotes keep spaces); ``#`` comments; ``include FILE`` (noted, not followed);
``also=NAME`` inherits another conn's parameters (the section's own win, nesting allowed);
``conn %default`` gives defaults to every conn; an empty value restores the default.

Left is taken as local (the man pages' convention when no interface address decides); connections
say so with `sided_by_convention`, so a comparison may mirror one side's copy.

Dialects differ in defaults and proposal syntax; `detect_dialect` looks for keys only one of them
knows (``phase2alg``, ``ikev2=``, ``pfs=``, ``salifetime``, ``leftrsasigkey``, ``plutodebug`` or a
``;`` in ``ike=`` for libreswan; ``keyexchange=``, ``leftauth``, ``charondebug``, a ``!`` strict flag
for strongSwan).

* strongSwan: ``keyexchange`` ike (default: IKEv2 initiating, both accepted) / ikev1 / ikev2;
  ``ike`` default aes128-sha256-modp3072 and ``esp`` aes128-sha256, each followed by the daemon's
  default proposal unless the list ends with ``!``; ``authby`` pubkey (default) / psk|secret /
  xauthpsk / xauthrsasig, overridden by ``leftauth``/``rightauth``; ``ikelifetime`` 3h, ``lifetime``
  1h; ``type`` tunnel; ``aggressive`` no; ``mobike`` yes; ``forceencaps`` no; ``dpddelay`` 30s only
  with ``dpdaction`` other than none.
* libreswan: ``keyexchange=ikev1|ikev2`` or ``ikev2=no|never|permit`` (IKEv1) / ``yes|insist|propose``
  (IKEv2), default IKEv2; ``ike``/``esp`` (or ``phase2alg``) with libreswan's defaults;
  ``authby`` rsasig (default) / secret / rsasig,secret / null; ``pfs`` yes (default; an ESP proposal
  without DH then uses the IKE SA's group); ``ikelifetime`` 8h, ``salifetime``/``lifetime``/``keylife``
  8h; ``aggressive``/``aggrmode``; ``encapsulation`` (``forceencaps`` in older releases).

ipsec.secrets (both): ``[selectors] : PSK "secret"`` entries (also RSA, ECDSA, EAP, XAUTH, ...);
continuation lines start with white space; only the kind, the selectors and a process-local
fingerprint of a PSK are kept.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

from ikesniff import offers as wire

from . import algorithms
from .model import ChildConfig, ConnectionConfig, GatewayConfig, PskFingerprint, SecretEntry
from .swanctl import _identity, _secret_bytes, attach_secrets, seconds

__all__ = ["detect_dialect", "parse_ipsec_conf", "parse_ipsec_secrets"]

LIBRESWAN_HINTS = re.compile(
    r"^\s*(phase2alg|phase2|ikev2|pfs|salifetime|leftrsasigkey|rightrsasigkey|plutodebug|protostack|"
    r"nat_traversal|aggrmode|encapsulation|ikepad|leftckaid|sha2-truncbug|nic-offload|logfile)\s*=|"
    r"^\s*ike\s*=.*;", re.MULTILINE | re.IGNORECASE)
STRONGSWAN_HINTS = re.compile(
    r"^\s*(keyexchange\s*=\s*ike\s*$|leftauth|rightauth|charondebug|forceencaps|reauth|rekeymargin|"
    r"margintime|eap_identity|leftsourceip\s*=\s*%config4)|^\s*(ike|esp)\s*=.*!\s*$",
    re.MULTILINE | re.IGNORECASE)

STRONGSWAN_KEYS = frozenset({
    "also", "aaa_identity", "aggressive", "ah", "authby", "auto", "closeaction", "compress", "dpdaction",
    "dpddelay", "dpdtimeout", "inactivity", "eap_identity", "esp", "forceencaps", "fragmentation", "ike",
    "ikedscp", "ikelifetime", "installpolicy", "keyexchange", "keyingtries", "keylife", "lifebytes", "lifepackets",
    "lifetime", "marginbytes", "marginpackets", "margintime", "rekeymargin", "mark", "mark_in", "mark_out",
    "mobike", "modeconfig", "reauth", "rekey", "rekeyfuzz", "replay_window", "reqid", "sha256_96", "tfc", "type",
    "xauth", "xauth_identity", "mediation", "mediated_by", "me_peerid", "if_id_in", "if_id_out",
    "left", "right", "auth", "ppk_id", "ppk_required",
})
LIBRESWAN_KEYS = frozenset({
    "also", "aggressive", "aggrmode", "ah", "authby", "auto", "compress", "dpdaction", "dpddelay", "dpdtimeout",
    "esp", "phase2alg", "phase2", "encapsulation", "forceencaps", "fragmentation", "ike", "ikelifetime", "ikev2",
    "keyexchange", "keyingtries", "keylife", "lifetime", "salifetime", "rekey", "rekeymargin", "rekeyfuzz", "pfs",
    "pfsgroup", "type", "mobike", "narrowing", "sha2-truncbug", "nat-ikev1-method", "ikepad", "initial-contact",
    "fake-strongswan", "send-vendorid", "cisco-unity", "modecfgpull", "modecfgdns", "modecfgdomains",
    "xauthby", "xauthfail", "ipsec-interface", "nic-offload", "mtu", "priority", "reqid", "replay-window",
    "metric", "overlapip", "remote-peer-type", "nm-configured", "decap-dscp", "encap-dscp", "nopmtudisc",
    "ms-dh-downgrade", "dns-match-id", "pam-authorize", "ignore-peer-dns", "accept-redirect", "enable-tcp",
    "tcp-remoteport", "tcponly", "iptfs", "intermediate", "ppk", "esn", "left", "right",
    "ipsec-lifetime", "ipsec-max-bytes", "ipsec-max-packets", "ike-lifetime", "hostaddrfamily",
    "clientaddrfamily", "connaddrfamily", "retransmit-timeout", "retransmit-interval", "session-resumption",
    "vti-interface", "vti-routing", "vti-shared", "leftvti", "mark", "mark-in", "mark-out", "labeled-ipsec",
    "policy-label", "failureshunt", "negotiationshunt", "sendca", "require-id-on-certificate",
})
END_KEYS = frozenset({
    "", "id", "subnet", "subnets", "auth", "auth2", "id2", "cert", "cert2", "ca", "ca2", "sendcert", "sourceip",
    "updown", "firewall", "hostaccess", "protoport", "nexthop", "allowany", "ikeport", "groups", "groups2",
    "sigkey", "rsasigkey", "ecdsakey", "pubkey", "ckaid", "xauthserver", "xauthclient", "username",
    "modecfgserver", "modecfgclient", "addresspool", "dns", "certpolicy", "interface-ip", "vti", "cat",
    "virtualip", "subnetwithin", "epdn",
})


def detect_dialect(text: str) -> str:
    """'libreswan' or 'strongswan' for an ipsec.conf text (strongSwan when nothing tells)."""
    libreswan = len(LIBRESWAN_HINTS.findall(text))
    strongswan = len(STRONGSWAN_HINTS.findall(text))
    return "libreswan" if libreswan > strongswan else "strongswan"


def _sections(text: str, notes: list[str]) -> list[tuple[str, str, dict[str, str], list[str]]]:
    """(type, name, parameters, also-names) of each section in order; same type and name merge."""
    found: dict[tuple[str, str], tuple[dict[str, str], list[str]]] = {}
    order: list[tuple[str, str]] = []
    current: tuple[str, str] | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        index += 1
        # a quoted value may continue on the next lines when the line ends with a backslash
        while raw.rstrip().endswith("\\") and index < len(lines):
            raw = raw.rstrip()[:-1] + lines[index]
            index += 1
        stripped = _uncomment(raw).strip()
        if not stripped:
            continue
        indented = raw[:1].isspace()
        if not indented:
            words = stripped.split()
            if words[0] == "include":
                notes.append(f"line {number}: include {' '.join(words[1:])} not followed")
                current = None
                continue
            if words[0] in ("conn", "config", "ca") and len(words) == 2:
                current = (words[0], words[1])
                if current not in found:
                    found[current] = ({}, [])
                    order.append(current)
                continue
            if words[0] == "version":
                continue  # 'version 2' / 'version 2.0' of old files
            notes.append(f"line {number}: text outside any section skipped")  # content not echoed: may be a key
            current = None
            continue
        if current is None:
            notes.append(f"line {number}: parameter outside any section, skipped")
            continue
        key, equals, value = stripped.partition("=")
        if not equals:
            notes.append(f"line {number}: not key=value, skipped")
            continue
        key = key.strip().lower()
        value = _unquote(value.strip())
        parameters, also = found[current]
        if key == "also":
            also.append(value)
        else:
            parameters[key] = value
    return [(kind, name, *found[(kind, name)]) for kind, name in order]


def _uncomment(line: str) -> str:
    """The line without a '#' comment (one inside double quotes stays)."""
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and (position == 0 or line[position - 1].isspace()):
            return line[:position]
    return line


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), inner)
    return re.sub(r"\s+", " ", value)


def _inherit(name: str, conns: dict[str, tuple[dict[str, str], list[str]]], depth: int = 0) -> dict[str, str]:
    """A conn's parameters after also= (in order, the section's own parameters win)."""
    parameters, also = conns.get(name, ({}, []))
    merged: dict[str, str] = {}
    if depth < 10:
        for parent in also:
            merged.update(_inherit(parent, conns, depth + 1))
    merged.update(parameters)
    return merged


def parse_ipsec_conf(text: str, source: str, dialect: str | None = None) -> GatewayConfig:
    """An ipsec.conf text in either dialect (detected when `dialect` is None); never raises."""
    dialect = dialect or detect_dialect(text)
    config = GatewayConfig(source=source, format=f"{dialect}-ipsec.conf")
    sections = _sections(text, config.notes)
    conns = {name: (parameters, also) for kind, name, parameters, also in sections if kind == "conn"}
    defaults = _inherit("%default", conns) if "%default" in conns else {}
    for kind, name, _, _ in sections:
        if kind != "conn" or name == "%default":
            continue
        parameters = {**defaults, **_inherit(name, conns)}
        parameters = {key: value for key, value in parameters.items() if value != ""}
        if parameters.get("auto", "").lower() == "ignore" and dialect == "strongswan":
            config.notes.append(f"conn {name}: auto=ignore, not loaded")
            continue
        if "left" not in parameters and "right" not in parameters:
            config.notes.append(f"conn {name}: neither left nor right set; kept as a template")
        build = _strongswan_conn if dialect == "strongswan" else _libreswan_conn
        config.connections.append(build(name, parameters, config.notes))
    return config


def _unknown_keys(name: str, parameters: dict[str, str], known: frozenset[str], notes: list[str]) -> None:
    for key in parameters:
        side_key = re.sub(r"^(left|right)", "", key)
        if key in known or (key.startswith(("left", "right")) and side_key in END_KEYS):
            continue
        notes.append(f"conn {name}: unknown key {key!r} skipped")


def _addrs(value: str | None) -> list[str]:
    items = [item.strip().lstrip("%") if item.strip().startswith("%") and item.strip() not in ("%any", "%any6")
             else item.strip() for item in (value or "%any").split(",") if item.strip()]
    return [item if item not in ("%defaultroute", "defaultroute") else "%any" for item in items] or ["%any"]


def _subnets(parameters: dict[str, str], side: str) -> list[str]:
    value = parameters.get(f"{side}subnet") or parameters.get(f"{side}subnets", "").strip("{} ")
    items = [item for item in re.split(r"[,\s]+", value) if item]
    return [("dynamic" if item == "%dynamic" else re.sub(r"\[.*\]$", "", item)) for item in items] or ["dynamic"]


def _strongswan_conn(name: str, parameters: dict[str, str], notes: list[str]) -> ConnectionConfig:
    _unknown_keys(name, parameters, STRONGSWAN_KEYS, notes)
    exchange = parameters.get("keyexchange", "ike").lower()
    version = {"ikev1": 1, "ikev2": 2}.get(exchange)
    unknown: list[str] = []
    ike = parameters.get("ike", algorithms.STRONGSWAN_IPSEC_CONF_IKE)
    proposals = algorithms.strongswan_proposals(ike, "IKE", unknown)
    if not ike.strip().endswith("!"):
        proposals += list(algorithms.STRONGSWAN_DEFAULT_IKE)
    authby = parameters.get("authby", "pubkey").lower()
    by = {"psk": "psk", "secret": "psk", "xauthpsk": "psk", "xauthrsasig": "pubkey", "never": "never"}.get(
        authby, "pubkey")
    local_auth = [parameters.get("leftauth", by).lower()]
    remote_auth = [parameters.get("rightauth", by).lower()]
    if authby.startswith("xauth"):
        xauth_server = parameters.get("xauth", "client").lower() == "server"
        (remote_auth if xauth_server else local_auth).append("xauth")
    for side, rounds in (("left", local_auth), ("right", remote_auth)):
        if parameters.get(f"{side}auth2"):
            rounds.append(parameters[f"{side}auth2"].lower())
    child_life = seconds(parameters.get("lifetime") or parameters.get("keylife")) or 3600
    margin = seconds(parameters.get("margintime") or parameters.get("rekeymargin")) or 540
    child = ChildConfig(name=name, local_ts=_subnets(parameters, "left"), remote_ts=_subnets(parameters, "right"),
                        mode=parameters.get("type", "tunnel").lower(), lifetime_seconds=child_life,
                        rekey_seconds=max(child_life - margin, 0) or None,
                        ipcomp=parameters.get("compress", "no").lower() == "yes")
    if parameters.get("ah"):
        child.ah_proposals = algorithms.strongswan_proposals(parameters["ah"], "AH", unknown)
        if not parameters["ah"].strip().endswith("!"):
            child.ah_proposals += list(algorithms.STRONGSWAN_DEFAULT_AH)
    else:
        esp = parameters.get("esp", algorithms.STRONGSWAN_IPSEC_CONF_ESP)
        child.esp_proposals = algorithms.strongswan_proposals(esp, "ESP", unknown)
        if not esp.strip().endswith("!"):
            child.esp_proposals += list(algorithms.STRONGSWAN_DEFAULT_ESP)
    for keyword in dict.fromkeys(unknown):
        notes.append(f"conn {name}: proposal skipped: {keyword!r} not recognised or refused")
    dpd_on = parameters.get("dpdaction", "none").lower() != "none"
    return ConnectionConfig(
        name=name, local_addrs=_addrs(parameters.get("left")), remote_addrs=_addrs(parameters.get("right")),
        version=version, ike_proposals=proposals,
        local_id=parameters.get("leftid"), remote_id=parameters.get("rightid"),
        local_auth=[_reduce_auth(method) for method in local_auth],
        remote_auth=[_reduce_auth(method) for method in remote_auth],
        aggressive=parameters.get("aggressive", "no").lower() == "yes",
        ike_lifetime_seconds=seconds(parameters.get("ikelifetime")) or 3 * 3600,
        dpd_delay_seconds=(seconds(parameters.get("dpddelay")) or 30) if dpd_on else None,
        dpd_timeout_seconds=(seconds(parameters.get("dpdtimeout")) or 150) if dpd_on else None,
        mobike=parameters.get("mobike", "yes").lower() == "yes",
        fragmentation=parameters.get("fragmentation", "yes").lower(),
        encap=parameters.get("forceencaps", "no").lower() == "yes",
        children=[child], sided_by_convention=True,
    )


def _reduce_auth(method: str) -> str:
    method = method.strip().lower().removeprefix("ike:")
    if method.startswith(("pubkey", "rsa", "ecdsa")):
        return "pubkey"
    return "psk" if method == "secret" else method


def _libreswan_conn(name: str, parameters: dict[str, str], notes: list[str]) -> ConnectionConfig:
    _unknown_keys(name, parameters, LIBRESWAN_KEYS, notes)
    exchange = parameters.get("keyexchange", "").lower()
    ikev2 = parameters.get("ikev2", "").lower()
    if exchange in ("ikev1", "ikev2"):
        version = int(exchange[-1])
    elif ikev2 in ("no", "never", "permit"):
        version = 1
    else:
        version = 2
    unknown: list[str] = []
    if parameters.get("ike"):
        proposals = algorithms.libreswan_proposals(parameters["ike"], "IKE", version, unknown)
    else:
        proposals = list(algorithms.LIBRESWAN_DEFAULT_IKE[version])
    pfs = parameters.get("pfs", "yes").lower() != "no"
    ike_groups = tuple(dict.fromkeys(group for proposal in proposals for group in proposal.dh_groups))
    authby = [item.strip() for item in parameters.get("authby", "rsasig").lower().split(",")]
    methods = []
    for item in authby:
        methods.append({"secret": "psk", "psk": "psk", "null": "null", "never": "never"}.get(item, "pubkey"))
    methods = list(dict.fromkeys(methods))
    if parameters.get("leftauth"):
        methods = [_reduce_auth(parameters["leftauth"])]
    remote = [_reduce_auth(parameters["rightauth"])] if parameters.get("rightauth") else list(methods)
    if parameters.get("leftxauthclient", "").lower() == "yes":
        methods.append("xauth")
    if parameters.get("rightxauthserver", "").lower() == "yes" or parameters.get("leftxauthserver", "") == "yes":
        remote.append("xauth")
    life = seconds(parameters.get("salifetime") or parameters.get("lifetime") or parameters.get("keylife")
                   or parameters.get("ipsec-lifetime")) or 8 * 3600
    child = ChildConfig(name=name, local_ts=_subnets(parameters, "left"), remote_ts=_subnets(parameters, "right"),
                        mode=parameters.get("type", "tunnel").lower(), lifetime_seconds=life,
                        ipcomp=parameters.get("compress", "no").lower() == "yes")
    esp_text = parameters.get("esp") or parameters.get("phase2alg")
    protocol = "AH" if parameters.get("phase2", "esp").lower() == "ah" or parameters.get("ah") else "ESP"
    if protocol == "AH":
        child.ah_proposals = algorithms.libreswan_proposals(parameters.get("ah") or esp_text or "sha2_256+sha1",
                                                            "AH", version, unknown, ike_groups if pfs else ())
    elif esp_text:
        child.esp_proposals = algorithms.libreswan_proposals(esp_text, "ESP", version, unknown,
                                                             ike_groups if pfs else ())
    else:
        child.esp_proposals = [replace(proposal, dh_groups=ike_groups if pfs else ())
                               for proposal in algorithms.LIBRESWAN_DEFAULT_ESP]
    esn = {"yes": (wire.ESN,), "no": (wire.NO_ESN,)}.get(parameters.get("esn", "either").lower())
    if esn is not None or version == 1:  # ESN is negotiated in IKEv2 only (esn.xml)
        child.esp_proposals = [replace(proposal, esn=esn or (wire.NO_ESN,)) for proposal in child.esp_proposals]
        child.ah_proposals = [replace(proposal, esn=esn or (wire.NO_ESN,)) for proposal in child.ah_proposals]
    for keyword in dict.fromkeys(unknown):
        notes.append(f"conn {name}: proposal skipped: {keyword!r} not recognised or refused")
    encapsulation = (parameters.get("encapsulation") or parameters.get("forceencaps") or "auto").lower()
    dpd = seconds(parameters.get("dpddelay"))
    return ConnectionConfig(
        name=name, local_addrs=_addrs(parameters.get("left")), remote_addrs=_addrs(parameters.get("right")),
        version=version, ike_proposals=proposals,
        local_id=parameters.get("leftid"), remote_id=parameters.get("rightid"),
        local_auth=methods[:1] + [method for method in methods[1:] if method == "xauth"],
        remote_auth=remote,
        aggressive=(parameters.get("aggressive") or parameters.get("aggrmode") or "no").lower() == "yes",
        ike_lifetime_seconds=seconds(parameters.get("ikelifetime") or parameters.get("ike-lifetime")) or 8 * 3600,
        dpd_delay_seconds=dpd, dpd_timeout_seconds=seconds(parameters.get("dpdtimeout")) if dpd else None,
        mobike=parameters.get("mobike", "no").lower() == "yes",
        fragmentation=parameters.get("fragmentation", "yes").lower(),
        encap=encapsulation == "yes", nat_traversal=encapsulation != "no",
        children=[child], sided_by_convention=True,
    )


SECRET_KINDS = ("PSK", "RSA", "ECDSA", "P12", "EAP", "NTLM", "XAUTH", "PIN", "ECDSAKEY", "PPKS")


def parse_ipsec_secrets(text: str, source: str) -> GatewayConfig:
    """An ipsec.secrets text: its entries (kind, selectors, PSK fingerprint); never raises."""
    config = GatewayConfig(source=source, format="ipsec.secrets")
    entries: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _uncomment(raw).rstrip()
        if not line.strip():
            continue
        if raw[:1].isspace() and entries:
            entries[-1] = (entries[-1][0], entries[-1][1] + " " + line.strip())
        else:
            entries.append((number, line.strip()))
    for number, entry in entries:
        if entry.startswith("include "):
            config.notes.append(f"line {number}: include {entry[8:].strip()} not followed")
            continue
        match = re.match(r"^(.*?)(?:^|\s):\s+(\w+)\s*(.*)$", entry)
        if match is None:
            config.notes.append(f"line {number}: not '[selectors] : TYPE secret', skipped")
            continue
        selectors, kind, rest = match.group(1), match.group(2).upper(), match.group(3)
        if kind not in SECRET_KINDS:
            config.notes.append(f"line {number}: secret type {kind!r} unknown, skipped")
            continue
        try:
            ids = tuple(_identity(item) for item in shlex.split(selectors))
        except ValueError:
            ids = tuple(_identity(item) for item in selectors.split())
        fingerprint = None
        if kind == "PSK":
            value = _psk_value(rest)
            if value is None:
                config.notes.append(f"line {number}: PSK value unreadable")
            else:
                fingerprint = PskFingerprint(value)
        config.secrets.append(SecretEntry(ids, kind, fingerprint))
    return config


def _psk_value(rest: str) -> bytes | None:
    rest = rest.strip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        return rest[1:end].encode() if end > 0 else None
    if rest.startswith("'"):
        end = rest.find("'", 1)
        return rest[1:end].encode() if end > 0 else None
    return _secret_bytes(rest.split()[0]) if rest else None


def combine_secrets(config: GatewayConfig, secrets: GatewayConfig) -> None:
    """Add an ipsec.secrets file's entries to an ipsec.conf's configuration and recompute psk_set."""
    config.secrets.extend(secrets.secrets)
    config.notes.extend(f"{secrets.source}: {note}" for note in secrets.notes)
    attach_secrets(config)
