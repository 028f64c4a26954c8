"""Algorithm keywords of each configuration dialect -> `Proposal`s in the names of `ikesniff.offers`.

Facts, not code, from the vendors' references:

* strongSwan (swanctl.conf ``proposals``/``esp_proposals``/``ah_proposals``, ipsec.conf ``ike=``/``esp=``/
  ``ah=``): dash-separated keywords, commas between proposals; the keyword table is
  ``src/libstrongswan/crypto/proposal/proposal_keywords_static.txt`` (strongSwan 5.9). Rules of
  ``proposal.c`` (``check_proposal``): an IKE proposal without a PRF takes the PRFs matching its
  integrity algorithms; an AEAD proposal carries no integrity; ESP/AH without ``esn``/``noesn`` means
  ``noesn``; ``none``/``modpnone`` in an IKE proposal is dropped.
* libreswan (ipsec.conf ``ike=``, ``esp=``, ``phase2alg=``, ``ah=``): ``ENCRYPT[-INTEG][-DH]`` or
  ``ENCRYPT-INTEG;DH``, ``+`` joining alternatives within a proposal, commas between proposals; for an
  AEAD IKE cipher the second field is the PRF; omitted parts take the defaults (libreswan's
  ``configs/d.ipsec.conf/conn/ike.xml`` and ``esp.xml``; names of ``lib/libswan/ike_alg_*.c``).
  libreswan uses the same algorithm for PRF and integrity.
* Huawei VRP: ``encryption-algorithm aes-256``, ``authentication-algorithm sha2-256``, ``dh group14``...
* vpnc: fixed offers (see ``vpnc.py``).

Defaults when nothing is configured (each with its source):

* strongSwan ``default`` (swanctl.conf: an absent ``proposals``/``esp_proposals`` is ``default``;
  ipsec.conf: ``ike=aes128-sha256-modp3072`` and ``esp=aes128-sha256`` with the default appended unless
  the list ends with ``!``, ipsec.conf(5)): ``proposal_create_default()`` and
  ``proposal_create_default_aead()`` in proposal.c, which list every algorithm of at least 128-bit
  strength the loaded crypto plugins provide, plus 3DES, HMAC-SHA1-96/AES-XCBC/AES-CMAC, PRF-HMAC-SHA1
  and MODP-2048. The tables below assume the standard plugin set (openssl, with aes, sha2, gcm).
  ESP default: AES-CBC-128/192/256 with HMAC-SHA2-256/384/512, HMAC-SHA1-96, AES-XCBC-96; and
  AES-GCM-16-128/192/256 (AEAD).
* libreswan (``lib/libswan/ike_info.c``): IKEv2 AES-GCM-16-256, AES-GCM-16-128, CHACHA20-POLY1305,
  AES-CBC-256, AES-CBC-128 with PRF (and integrity) SHA2-512, SHA2-256 and DH ECP-256, ECP-384, ECP-521,
  CURVE25519, MODP-4096, MODP-3072, MODP-2048, MODP-8192; IKEv1 AES-CBC and 3DES with SHA2-256,
  SHA2-512, SHA1 and MODP-2048, MODP-1536, ECP-256, CURVE25519. ESP: AES-GCM-16 (256/128) and AES-CBC
  (256/128) with HMAC-SHA2-512-256, HMAC-SHA2-256-128 (libreswan 4/5 ``ipsec algparse esp=``; older
  releases used AES-CBC with HMAC-SHA1-96, which is added so that their peers are not flagged).

The parsers never raise: an unknown keyword is returned in the `unknown` list for the caller's notes.
"""

from __future__ import annotations

import re

from ikesniff import offers as wire

from .model import Proposal

# --------------------------------------------------------------------------------------------
# strongSwan keywords (proposal_keywords_static.txt): keyword -> (kind, name)
# --------------------------------------------------------------------------------------------
STRONGSWAN_ENCRYPTION: dict[str, str] = {
    "null": "NULL", "des": "DES", "3des": "3DES", "cast128": "CAST-128",
    "aes": "AES-CBC-128", "blowfish": "BLOWFISH-128", "camellia": "CAMELLIA-CBC-128",
    "serpent": "SERPENT-CBC-128", "twofish": "TWOFISH-CBC-128",
    "chacha20poly1305": "CHACHA20-POLY1305", "chacha20poly1305compat": "CHACHA20-POLY1305-256",
}
for _bits in (128, 192, 256):
    STRONGSWAN_ENCRYPTION[f"aes{_bits}"] = f"AES-CBC-{_bits}"
    STRONGSWAN_ENCRYPTION[f"aes{_bits}ctr"] = f"AES-CTR-{_bits}"
    STRONGSWAN_ENCRYPTION[f"aes{_bits}gmac"] = f"NULL-AUTH-AES-GMAC-{_bits}"
    STRONGSWAN_ENCRYPTION[f"blowfish{_bits}"] = f"BLOWFISH-{_bits}"
    STRONGSWAN_ENCRYPTION[f"camellia{_bits}"] = f"CAMELLIA-CBC-{_bits}"
    STRONGSWAN_ENCRYPTION[f"camellia{_bits}ctr"] = f"CAMELLIA-CTR-{_bits}"
    STRONGSWAN_ENCRYPTION[f"serpent{_bits}"] = f"SERPENT-CBC-{_bits}"
    STRONGSWAN_ENCRYPTION[f"twofish{_bits}"] = f"TWOFISH-CBC-{_bits}"
    for _mode in ("gcm", "ccm"):
        for _icv, _names in ((8, ("8", "64")), (12, ("12", "96")), (16, ("16", "128", ""))):
            for _suffix in _names:
                STRONGSWAN_ENCRYPTION[f"aes{_bits}{_mode}{_suffix}"] = f"AES-{_mode.upper()}-{_icv}-{_bits}"
                if _mode == "ccm" and _suffix:
                    STRONGSWAN_ENCRYPTION[f"camellia{_bits}ccm{_suffix}"] = f"CAMELLIA-CCM-{_icv}-{_bits}"

STRONGSWAN_INTEGRITY: dict[str, str] = {
    "sha": "HMAC-SHA1-96", "sha1": "HMAC-SHA1-96", "sha1_160": "HMAC-SHA1-160",
    "sha256": "HMAC-SHA2-256-128", "sha2_256": "HMAC-SHA2-256-128",
    "sha256_96": "HMAC-SHA2-256-96", "sha2_256_96": "HMAC-SHA2-256-96",
    "sha384": "HMAC-SHA2-384-192", "sha2_384": "HMAC-SHA2-384-192",
    "sha512": "HMAC-SHA2-512-256", "sha2_512": "HMAC-SHA2-512-256",
    "md5": "HMAC-MD5-96", "md5_128": "HMAC-MD5-128",
    "aesxcbc": "AES-XCBC-96", "camelliaxcbc": "CAMELLIA-XCBC-96", "aescmac": "AES-CMAC-96",
}
STRONGSWAN_PRF: dict[str, str] = {
    "prfsha1": "PRF-HMAC-SHA1", "prfsha256": "PRF-HMAC-SHA2-256", "prfsha384": "PRF-HMAC-SHA2-384",
    "prfsha512": "PRF-HMAC-SHA2-512", "prfmd5": "PRF-HMAC-MD5", "prfaesxcbc": "PRF-AES128-XCBC",
    "prfcamelliaxcbc": "PRF-CAMELLIA128-XCBC", "prfaescmac": "PRF-AES128-CMAC",
}
STRONGSWAN_GROUPS: dict[str, str] = {
    "none": wire.NONE, "modpnone": wire.NONE, "modpnull": "MODP-NULL",
    "modp768": "MODP-768", "modp1024": "MODP-1024", "modp1536": "MODP-1536", "modp2048": "MODP-2048",
    "modp3072": "MODP-3072", "modp4096": "MODP-4096", "modp6144": "MODP-6144", "modp8192": "MODP-8192",
    "ecp192": "ECP-192", "ecp224": "ECP-224", "ecp256": "ECP-256", "ecp384": "ECP-384", "ecp521": "ECP-521",
    "modp1024s160": "MODP-1024-160", "modp2048s224": "MODP-2048-224", "modp2048s256": "MODP-2048-256",
    "ecp224bp": "ECP-224-BP", "ecp256bp": "ECP-256-BP", "ecp384bp": "ECP-384-BP", "ecp512bp": "ECP-512-BP",
    "curve25519": "CURVE25519", "x25519": "CURVE25519", "curve448": "CURVE448", "x448": "CURVE448",
    "mlkem512": "ML-KEM-512", "mlkem768": "ML-KEM-768", "mlkem1024": "ML-KEM-1024",
}
STRONGSWAN_ESN: dict[str, str] = {"esn": wire.ESN, "noesn": wire.NO_ESN}

# proposal.c integ_prf_map: the PRF taken for an integrity algorithm when an IKE proposal names none.
INTEGRITY_PRF: dict[str, str] = {
    "HMAC-SHA1-96": "PRF-HMAC-SHA1", "HMAC-SHA1-160": "PRF-HMAC-SHA1",
    "HMAC-SHA2-256-128": "PRF-HMAC-SHA2-256", "HMAC-SHA2-256-96": "PRF-HMAC-SHA2-256",
    "HMAC-SHA2-384-192": "PRF-HMAC-SHA2-384", "HMAC-SHA2-512-256": "PRF-HMAC-SHA2-512",
    "HMAC-MD5-96": "PRF-HMAC-MD5", "HMAC-MD5-128": "PRF-HMAC-MD5", "AES-XCBC-96": "PRF-AES128-XCBC",
    "CAMELLIA-XCBC-96": "PRF-CAMELLIA128-XCBC", "AES-CMAC-96": "PRF-AES128-CMAC",
}


def is_aead(cipher: str) -> bool:
    return cipher.startswith(wire.AEAD_PREFIXES)


def _sizes(base: str, sizes: tuple[int, ...] = (128, 192, 256)) -> tuple[str, ...]:
    return tuple(f"{base}-{bits}" for bits in sizes)


_SS_PRFS = ("PRF-HMAC-SHA2-256", "PRF-HMAC-SHA2-384", "PRF-HMAC-SHA2-512", "PRF-AES128-XCBC", "PRF-AES128-CMAC",
            "PRF-HMAC-SHA1")
_SS_GROUPS = ("ECP-256", "ECP-384", "ECP-521", "ECP-256-BP", "ECP-384-BP", "ECP-512-BP", "CURVE25519", "CURVE448",
              "MODP-3072", "MODP-4096", "MODP-6144", "MODP-8192", "MODP-2048")
STRONGSWAN_DEFAULT_IKE: tuple[Proposal, ...] = (
    Proposal("default", "IKE",
             encryption=_sizes("AES-CBC") + _sizes("AES-CTR") + _sizes("CAMELLIA-CBC") + ("3DES",),
             integrity=("HMAC-SHA2-256-128", "HMAC-SHA2-384-192", "HMAC-SHA2-512-256", "AES-XCBC-96", "AES-CMAC-96",
                        "HMAC-SHA1-96"),
             prf=_SS_PRFS, dh_groups=_SS_GROUPS, default=True),
    Proposal("default (AEAD)", "IKE",
             encryption=_sizes("AES-GCM-16") + _sizes("AES-CCM-16") + ("CHACHA20-POLY1305",)
             + _sizes("AES-GCM-12") + _sizes("AES-GCM-8") + _sizes("AES-CCM-12") + _sizes("AES-CCM-8"),
             prf=_SS_PRFS, dh_groups=_SS_GROUPS, default=True),
)
STRONGSWAN_DEFAULT_ESP: tuple[Proposal, ...] = (
    Proposal("default", "ESP", encryption=_sizes("AES-CBC"),
             integrity=("HMAC-SHA2-256-128", "HMAC-SHA2-384-192", "HMAC-SHA2-512-256", "HMAC-SHA1-96",
                        "AES-XCBC-96"), esn=(wire.NO_ESN,), default=True),
    Proposal("default (AEAD)", "ESP", encryption=_sizes("AES-GCM-16"), esn=(wire.NO_ESN,), default=True),
)
STRONGSWAN_DEFAULT_AH: tuple[Proposal, ...] = (
    Proposal("default", "AH", integrity=("HMAC-SHA2-256-128", "HMAC-SHA2-384-192", "HMAC-SHA2-512-256",
                                         "HMAC-SHA1-96", "AES-XCBC-96"), esn=(wire.NO_ESN,), default=True),
)
# ipsec.conf(5): "ike ... Defaults to aes128-sha256-modp3072", "esp ... Defaults to aes128-sha256".
STRONGSWAN_IPSEC_CONF_IKE = "aes128-sha256-modp3072"
STRONGSWAN_IPSEC_CONF_ESP = "aes128-sha256"


def _defaults(protocol: str) -> tuple[Proposal, ...]:
    return {"IKE": STRONGSWAN_DEFAULT_IKE, "ESP": STRONGSWAN_DEFAULT_ESP, "AH": STRONGSWAN_DEFAULT_AH}[protocol]


def strongswan_proposals(text: str, protocol: str, unknown: list[str]) -> list[Proposal]:
    """swanctl.conf / ipsec.conf proposals ('aes128-sha256-modp2048,default') for 'IKE', 'ESP' or 'AH'.

    Unknown keywords are appended to `unknown` and the proposal holding them is dropped (charon refuses
    to load such a proposal). A trailing '!' (ipsec.conf strict flag) is ignored here."""
    found: list[Proposal] = []
    for written in (part.strip() for part in text.strip().rstrip("!").split(",")):
        if not written:
            continue
        if written.lower() == "default":
            found.extend(_defaults(protocol))
            continue
        proposal = _strongswan_one(written, protocol, unknown)
        if proposal is not None:
            found.append(proposal)
    return found


def _strongswan_one(written: str, protocol: str, unknown: list[str]) -> Proposal | None:
    encryption: list[str] = []
    integrity: list[str] = []
    prf: list[str] = []
    groups: list[str] = []
    esn: list[str] = []
    for keyword in (token.strip().lower() for token in written.split("-")):
        if keyword in STRONGSWAN_ENCRYPTION:
            encryption.append(STRONGSWAN_ENCRYPTION[keyword])
        elif keyword in STRONGSWAN_INTEGRITY:
            integrity.append(STRONGSWAN_INTEGRITY[keyword])
        elif keyword in STRONGSWAN_PRF:
            prf.append(STRONGSWAN_PRF[keyword])
        elif keyword in STRONGSWAN_GROUPS:
            groups.append(STRONGSWAN_GROUPS[keyword])
        elif keyword in STRONGSWAN_ESN:
            esn.append(STRONGSWAN_ESN[keyword])
        elif re.fullmatch(r"ke\d_\w+", keyword):
            continue  # RFC 9370 additional key exchanges (strongSwan 6): not modelled
        else:
            unknown.append(keyword)
            return None
    aead = [cipher for cipher in encryption if is_aead(cipher)]
    if protocol == "IKE" and not prf:  # the PRFs of the integrity algorithms, before AEAD drops them
        prf = [INTEGRITY_PRF[name] for name in integrity if name in INTEGRITY_PRF]
    problem = _strongswan_check(protocol, encryption, aead, integrity, prf, groups)
    if problem:
        unknown.append(f"{written} ({problem})")
        return None
    if aead and protocol != "AH":
        integrity = []
    if protocol == "IKE":
        groups = [group for group in groups if group != wire.NONE]
        esn = []
    else:
        prf = []
        if protocol == "AH":  # AES-GMAC parses as a cipher; in AH it is the integrity algorithm (proposal.c)
            integrity = [f"AES-{cipher.rsplit('-', 1)[1]}-GMAC" for cipher in encryption
                         if cipher.startswith("NULL-AUTH-AES-GMAC-")] + integrity
            encryption = []
        if not esn:
            esn = [wire.NO_ESN]
    return Proposal(written, protocol, tuple(dict.fromkeys(encryption)), tuple(dict.fromkeys(integrity)),
                    tuple(dict.fromkeys(prf)), tuple(dict.fromkeys(groups)), tuple(dict.fromkeys(esn)))


def _strongswan_check(protocol: str, encryption: list[str], aead: list[str], integrity: list[str], prf: list[str],
                      groups: list[str]) -> str | None:
    """Why charon would refuse to load this proposal (proposal.c check_proposal()), or None."""
    if protocol == "IKE":
        if not prf:
            return "a PRF algorithm is mandatory in IKE proposals"
        if not [group for group in groups if group != wire.NONE]:
            return "a DH group is mandatory in IKE proposals"
    if protocol in ("IKE", "ESP"):
        if not encryption:
            return f"an encryption algorithm is mandatory in {protocol} proposals"
        if aead and len(aead) != len(encryption):
            return f"classic and AEAD encryption algorithms can't be in the same {protocol} proposal"
        if protocol == "IKE" and not aead and not integrity:
            return "an integrity algorithm is mandatory in IKE proposals with classic encryption"
    elif not integrity and not any(cipher.startswith("NULL-AUTH-AES-GMAC") for cipher in encryption):
        return "an integrity algorithm is mandatory in AH proposals"
    return None


# --------------------------------------------------------------------------------------------
# libreswan names (lib/libswan/ike_alg_*.c): name -> IKEv2 name; ciphers without a key length
# expand to every length libreswan proposes for them (256 then 128).
# --------------------------------------------------------------------------------------------
LIBRESWAN_CIPHERS: dict[str, str] = {
    "aes": "AES-CBC", "aes_cbc": "AES-CBC", "aesctr": "AES-CTR", "aes_ctr": "AES-CTR",
    "aes_gcm": "AES-GCM-16", "aes_gcm_16": "AES-GCM-16", "aes_gcm_c": "AES-GCM-16",
    "aes_gcm_12": "AES-GCM-12", "aes_gcm_b": "AES-GCM-12", "aes_gcm_8": "AES-GCM-8", "aes_gcm_a": "AES-GCM-8",
    "aes_ccm": "AES-CCM-16", "aes_ccm_16": "AES-CCM-16", "aes_ccm_c": "AES-CCM-16",
    "aes_ccm_12": "AES-CCM-12", "aes_ccm_b": "AES-CCM-12", "aes_ccm_8": "AES-CCM-8", "aes_ccm_a": "AES-CCM-8",
    "camellia": "CAMELLIA-CBC", "camellia_cbc": "CAMELLIA-CBC",
    "null_auth_aes_gmac": "NULL-AUTH-AES-GMAC", "aes_gmac": "NULL-AUTH-AES-GMAC",
}
LIBRESWAN_FIXED_CIPHERS: dict[str, str] = {
    "3des": "3DES", "3des_cbc": "3DES", "chacha20_poly1305": "CHACHA20-POLY1305", "null": "NULL",
}
LIBRESWAN_INTEGRITY: dict[str, str] = {
    "sha": "HMAC-SHA1-96", "sha1": "HMAC-SHA1-96", "sha2": "HMAC-SHA2-256-128", "sha256": "HMAC-SHA2-256-128",
    "sha2_256": "HMAC-SHA2-256-128", "sha384": "HMAC-SHA2-384-192", "sha2_384": "HMAC-SHA2-384-192",
    "sha512": "HMAC-SHA2-512-256", "sha2_512": "HMAC-SHA2-512-256", "md5": "HMAC-MD5-96",
    "aes_xcbc": "AES-XCBC-96", "aes_xcbc_96": "AES-XCBC-96", "aes_cmac": "AES-CMAC-96", "none": wire.NONE,
}
LIBRESWAN_GROUPS: dict[str, str] = {
    "modp1024": "MODP-1024", "dh2": "MODP-1024", "modp1536": "MODP-1536", "dh5": "MODP-1536",
    "modp2048": "MODP-2048", "dh14": "MODP-2048", "modp3072": "MODP-3072", "dh15": "MODP-3072",
    "modp4096": "MODP-4096", "dh16": "MODP-4096", "modp6144": "MODP-6144", "dh17": "MODP-6144",
    "modp8192": "MODP-8192", "dh18": "MODP-8192", "dh19": "ECP-256", "ecp_256": "ECP-256",
    "dh20": "ECP-384", "ecp_384": "ECP-384", "dh21": "ECP-521", "ecp_521": "ECP-521",
    "dh22": "MODP-1024-160", "dh23": "MODP-2048-224", "dh24": "MODP-2048-256",
    "dh31": "CURVE25519", "curve25519": "CURVE25519", "none": wire.NONE, "dhnone": wire.NONE,
}
_FAST_ENOUGH = ("256", "128")  # key lengths libreswan proposes for a cipher given without one

LIBRESWAN_DEFAULT_IKE: dict[int, tuple[Proposal, ...]] = {
    2: (
        Proposal("default", "IKE", encryption=("AES-GCM-16-256", "AES-GCM-16-128", "CHACHA20-POLY1305"),
                 prf=("PRF-HMAC-SHA2-512", "PRF-HMAC-SHA2-256"),
                 dh_groups=("ECP-256", "ECP-384", "ECP-521", "CURVE25519", "MODP-4096", "MODP-3072", "MODP-2048",
                            "MODP-8192"), default=True),
        Proposal("default", "IKE", encryption=("AES-CBC-256", "AES-CBC-128"),
                 integrity=("HMAC-SHA2-512-256", "HMAC-SHA2-256-128"),
                 prf=("PRF-HMAC-SHA2-512", "PRF-HMAC-SHA2-256"),
                 dh_groups=("ECP-256", "ECP-384", "ECP-521", "CURVE25519", "MODP-4096", "MODP-3072", "MODP-2048",
                            "MODP-8192"), default=True),
    ),
    1: (
        Proposal("default", "IKE", encryption=("AES-CBC-256", "AES-CBC-128", "3DES"),
                 integrity=("HMAC-SHA2-256-128", "HMAC-SHA2-512-256", "HMAC-SHA1-96"),
                 prf=("PRF-HMAC-SHA2-256", "PRF-HMAC-SHA2-512", "PRF-HMAC-SHA1"),
                 dh_groups=("MODP-2048", "MODP-1536", "ECP-256", "CURVE25519"), default=True),
    ),
}
LIBRESWAN_DEFAULT_ESP: tuple[Proposal, ...] = (
    Proposal("default", "ESP", encryption=("AES-GCM-16-256", "AES-GCM-16-128"), esn=(wire.NO_ESN, wire.ESN),
             default=True),
    Proposal("default", "ESP", encryption=("AES-CBC-256", "AES-CBC-128"),
             integrity=("HMAC-SHA2-512-256", "HMAC-SHA2-256-128", "HMAC-SHA1-96"), esn=(wire.NO_ESN, wire.ESN),
             default=True),
)
LIBRESWAN_DEFAULT_ESP_INTEGRITY = ("HMAC-SHA2-512-256", "HMAC-SHA2-256-128")


def _libreswan_cipher(token: str) -> tuple[str, ...] | None:
    if token in LIBRESWAN_FIXED_CIPHERS:
        return (LIBRESWAN_FIXED_CIPHERS[token],)
    if token in LIBRESWAN_CIPHERS:
        return tuple(f"{LIBRESWAN_CIPHERS[token]}-{bits}" for bits in _FAST_ENOUGH)
    match = re.fullmatch(r"([a-z0-9_]*?)_?(\d{3})", token)
    if match is None or match.group(1) not in LIBRESWAN_CIPHERS:
        return None
    return (f"{LIBRESWAN_CIPHERS[match.group(1)]}-{match.group(2)}",)


def libreswan_proposals(text: str, protocol: str, version: int, unknown: list[str],
                        pfs_groups: tuple[str, ...] = ()) -> list[Proposal]:
    """libreswan ``ike=``/``esp=``/``phase2alg=``/``ah=`` lists; omitted parts take libreswan's defaults.

    `pfs_groups`: for ESP/AH, the groups used when a proposal names none (libreswan with pfs=yes takes
    the IKE SA's group; the caller passes the IKE proposals' groups, or () for pfs=no)."""
    found: list[Proposal] = []
    for written in (part.strip() for part in text.strip().rstrip("!").split(",")):
        if not written:
            continue
        proposal = _libreswan_one(written, protocol, version, unknown, pfs_groups)
        if proposal is not None:
            found.append(proposal)
    return found


def _libreswan_one(written: str, protocol: str, version: int, unknown: list[str],
                   pfs_groups: tuple[str, ...]) -> Proposal | None:
    main, _, dh_part = written.lower().partition(";")
    fields = [field for field in main.split("-") if field]
    encryption: list[str] = []
    second: list[str] = []
    groups: list[str] = []
    if dh_part:
        fields.append(dh_part)
    index = 0
    if protocol != "AH":
        if not fields:
            return None
        for alternative in fields[0].split("+"):
            ciphers = _libreswan_cipher(alternative.strip())
            if ciphers is None:
                unknown.append(alternative)
                return None
            encryption.extend(ciphers)
        index = 1
    for position, field in enumerate(fields[index:]):
        for alternative in (part.strip() for part in field.split("+")):
            if alternative in LIBRESWAN_GROUPS and (position > 0 or alternative.startswith(("dh", "modp", "ecp"))):
                groups.append(LIBRESWAN_GROUPS[alternative])
            elif alternative in LIBRESWAN_INTEGRITY and position == 0:
                second.append(LIBRESWAN_INTEGRITY[alternative])
            else:
                unknown.append(alternative)
                return None
    aead = bool(encryption) and all(is_aead(cipher) for cipher in encryption)
    if protocol == "IKE":
        defaults = LIBRESWAN_DEFAULT_IKE.get(version, LIBRESWAN_DEFAULT_IKE[2])
        if not second:
            second = [name for name in defaults[-1].integrity]
        # libreswan uses one hash for PRF and integrity; with an AEAD cipher the field is the PRF
        prf = [INTEGRITY_PRF[name] for name in second if name in INTEGRITY_PRF]
        integrity = [] if aead else [name for name in second if name != wire.NONE]
        groups = [group for group in groups if group != wire.NONE] or list(defaults[-1].dh_groups)
        return Proposal(written, "IKE", tuple(dict.fromkeys(encryption)), tuple(dict.fromkeys(integrity)),
                        tuple(dict.fromkeys(prf)), tuple(dict.fromkeys(groups)))
    if not second and not aead:
        second = list(LIBRESWAN_DEFAULT_ESP_INTEGRITY)
    integrity = [] if aead else [name for name in second if name != wire.NONE]
    if not groups:
        groups = list(pfs_groups)
    groups = [group for group in groups if group != wire.NONE]
    # esn= defaults to 'either' (configs/d.ipsec.conf/conn/esn.xml); the caller narrows it for esn=yes/no
    return Proposal(written, protocol, tuple(dict.fromkeys(encryption)), tuple(dict.fromkeys(integrity)), (),
                    tuple(dict.fromkeys(groups)), (wire.NO_ESN, wire.ESN))


# --------------------------------------------------------------------------------------------
# Huawei VRP keywords (ike proposal / ipsec proposal views)
# --------------------------------------------------------------------------------------------
HUAWEI_ENCRYPTION: dict[str, str] = {
    "des": "DES", "des-cbc": "DES", "3des": "3DES", "3des-cbc": "3DES",
    "aes-128": "AES-CBC-128", "aes-192": "AES-CBC-192", "aes-256": "AES-CBC-256",
    "aes-cbc-128": "AES-CBC-128", "aes-cbc-192": "AES-CBC-192", "aes-cbc-256": "AES-CBC-256",
    "aes-gcm-128": "AES-GCM-16-128", "aes-gcm-192": "AES-GCM-16-192", "aes-gcm-256": "AES-GCM-16-256",
    "sm1": "SM1", "sm4": "SM4",
}
HUAWEI_INTEGRITY: dict[str, str] = {
    "md5": "HMAC-MD5-96", "sha1": "HMAC-SHA1-96", "sha2-256": "HMAC-SHA2-256-128",
    "sha2-384": "HMAC-SHA2-384-192", "sha2-512": "HMAC-SHA2-512-256", "sm3": "SM3",
    "hmac-md5-96": "HMAC-MD5-96", "hmac-sha1-96": "HMAC-SHA1-96", "hmac-sha2-256": "HMAC-SHA2-256-128",
    "hmac-sha2-384": "HMAC-SHA2-384-192", "hmac-sha2-512": "HMAC-SHA2-512-256", "aes-xcbc-mac-96": "AES-XCBC-96",
}
HUAWEI_PRF: dict[str, str] = {
    "hmac-md5": "PRF-HMAC-MD5", "hmac-sha1": "PRF-HMAC-SHA1", "hmac-sha2-256": "PRF-HMAC-SHA2-256",
    "hmac-sha2-384": "PRF-HMAC-SHA2-384", "hmac-sha2-512": "PRF-HMAC-SHA2-512", "aes-xcbc-128": "PRF-AES128-XCBC",
}


def huawei_group(keyword: str) -> str | None:
    """'group14' / 'dh-group14' -> 'MODP-2048' (RFC numbering, as `offers.GROUPS`)."""
    match = re.fullmatch(r"(?:dh-)?group(\d+)", keyword.strip().lower())
    if match is None:
        return None
    return wire.GROUPS.get(int(match.group(1)))
