"""The IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registries, as data.

Every table maps a number to its registry name (upper snake case, as IANA spells it where it
gives a symbol). Each block names the RFC that created it and the RFCs that added to it.
Nothing here is code: the dissector (`ikev2.py`) and the diagnosis layer look numbers up here.
Numbers missing from a table are unassigned or reserved; callers render them `UNKNOWN_<n>`.

Sources: https://www.iana.org/assignments/ikev2-parameters (checked against RFC texts, libreswan
and strongSwan headers). Registries shared with IKEv1 (ISAKMP) live in the IKEv1 module.
"""

from __future__ import annotations

# --- Exchange types: RFC 7296 §3.1; 38 RFC 5723; 39-42 RFC 9838 (G-IKEv2); 43 RFC 9242;
#     44 RFC 9370. 0-33 reserved, 240-255 private use.
EXCHANGE_TYPES: dict[int, str] = {
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
    39: "GSA_AUTH",
    40: "GSA_REGISTRATION",
    41: "GSA_REKEY",
    42: "GSA_INBAND_REKEY",
    43: "IKE_INTERMEDIATE",
    44: "IKE_FOLLOWUP_KE",
}

# --- Payload types (short notation of the defining RFC): RFC 7296 §3.2; 49 RFC 6467;
#     50-52 RFC 9838 (Group Identification, Group Security Association, Key Download);
#     53 RFC 7383; 54 RFC 8019 (Puzzle Solution). 1-32 reserved (IKEv1), 128-255 private use.
PAYLOAD_NAMES: dict[int, str] = {
    33: "SA",
    34: "KE",
    35: "IDi",
    36: "IDr",
    37: "CERT",
    38: "CERTREQ",
    39: "AUTH",
    40: "Nonce",
    41: "N",
    42: "D",
    43: "V",
    44: "TSi",
    45: "TSr",
    46: "SK",
    47: "CP",
    48: "EAP",
    49: "GSPM",
    50: "IDg",
    51: "GSA",
    52: "KD",
    53: "SKF",
    54: "PS",
}

# --- Transform types: RFC 7296 §3.3.2 (1-5; type 4 renamed "Key Exchange Method" and 6-12 added
#     by RFC 9370; type 5 renamed "Sequence Numbers" and 13-14 added by RFC 9838).
TRANSFORM_TYPES: dict[int, str] = {
    1: "ENCR",
    2: "PRF",
    3: "INTEG",
    4: "KE",
    5: "ESN",
    6: "ADDKE1",
    7: "ADDKE2",
    8: "ADDKE3",
    9: "ADDKE4",
    10: "ADDKE5",
    11: "ADDKE6",
    12: "ADDKE7",
    13: "KWA",
    14: "GCAUTH",
}

# --- Transform type 1, encryption algorithms: RFC 7296 §3.3.2; AES modes RFC 3602/3686/4309/
#     4106/4543/5282; Camellia RFC 5529; ChaCha20-Poly1305 RFC 7634; implicit-IV variants
#     RFC 8750 (ESP only); GOST RFC 9227.
ENCRYPTION_ALGORITHMS: dict[int, str] = {
    1: "ENCR_DES_IV64",
    2: "ENCR_DES",
    3: "ENCR_3DES",
    4: "ENCR_RC5",
    5: "ENCR_IDEA",
    6: "ENCR_CAST",
    7: "ENCR_BLOWFISH",
    8: "ENCR_3IDEA",
    9: "ENCR_DES_IV32",
    11: "ENCR_NULL",
    12: "ENCR_AES_CBC",
    13: "ENCR_AES_CTR",
    14: "ENCR_AES_CCM_8",
    15: "ENCR_AES_CCM_12",
    16: "ENCR_AES_CCM_16",
    18: "ENCR_AES_GCM_8",
    19: "ENCR_AES_GCM_12",
    20: "ENCR_AES_GCM_16",
    21: "ENCR_NULL_AUTH_AES_GMAC",
    23: "ENCR_CAMELLIA_CBC",
    24: "ENCR_CAMELLIA_CTR",
    25: "ENCR_CAMELLIA_CCM_8",
    26: "ENCR_CAMELLIA_CCM_12",
    27: "ENCR_CAMELLIA_CCM_16",
    28: "ENCR_CHACHA20_POLY1305",
    29: "ENCR_AES_CCM_8_IIV",
    30: "ENCR_AES_GCM_16_IIV",
    31: "ENCR_CHACHA20_POLY1305_IIV",
    32: "ENCR_KUZNYECHIK_MGM_KTREE",
    33: "ENCR_MAGMA_MGM_KTREE",
    34: "ENCR_KUZNYECHIK_MGM_MAC_KTREE",
    35: "ENCR_MAGMA_MGM_MAC_KTREE",
}

# --- Transform type 2, pseudorandom functions: RFC 7296 §3.3.2; RFC 4434 (XCBC), RFC 4868 (SHA-2),
#     RFC 4615 (CMAC), RFC 9385 (Streebog).
PSEUDORANDOM_FUNCTIONS: dict[int, str] = {
    1: "PRF_HMAC_MD5",
    2: "PRF_HMAC_SHA1",
    3: "PRF_HMAC_TIGER",
    4: "PRF_AES128_XCBC",
    5: "PRF_HMAC_SHA2_256",
    6: "PRF_HMAC_SHA2_384",
    7: "PRF_HMAC_SHA2_512",
    8: "PRF_AES128_CMAC",
    9: "PRF_HMAC_STREEBOG_512",
}

# --- Transform type 3, integrity algorithms: RFC 7296 §3.3.2; RFC 3566, 4494, 4543, 4595, 4868.
INTEGRITY_ALGORITHMS: dict[int, str] = {
    0: "NONE",
    1: "AUTH_HMAC_MD5_96",
    2: "AUTH_HMAC_SHA1_96",
    3: "AUTH_DES_MAC",
    4: "AUTH_KPDK_MD5",
    5: "AUTH_AES_XCBC_96",
    6: "AUTH_HMAC_MD5_128",
    7: "AUTH_HMAC_SHA1_160",
    8: "AUTH_AES_CMAC_96",
    9: "AUTH_AES_128_GMAC",
    10: "AUTH_AES_192_GMAC",
    11: "AUTH_AES_256_GMAC",
    12: "AUTH_HMAC_SHA2_256_128",
    13: "AUTH_HMAC_SHA2_384_192",
    14: "AUTH_HMAC_SHA2_512_256",
}

# --- Transform types 4 and 6-12, key exchange methods (Diffie-Hellman groups and KEMs):
#     RFC 7296 §3.3.2 (1, 2), RFC 3526 (5, 14-18), RFC 5903 (19-21), RFC 5114 (22-26),
#     RFC 6932 (27-30), RFC 8031 (31, 32), RFC 9385 (33, 34), ML-KEM of FIPS 203 as registered
#     for IKEv2 by draft-ietf-ipsecme-ikev2-mlkem (35-37). IANA's descriptive names are written
#     here as the short symbols engineers use (MODP_2048 for "2048-bit MODP Group").
KEY_EXCHANGE_METHODS: dict[int, str] = {
    0: "NONE",
    1: "MODP_768",
    2: "MODP_1024",
    5: "MODP_1536",
    14: "MODP_2048",
    15: "MODP_3072",
    16: "MODP_4096",
    17: "MODP_6144",
    18: "MODP_8192",
    19: "ECP_256",
    20: "ECP_384",
    21: "ECP_521",
    22: "MODP_1024_160",
    23: "MODP_2048_224",
    24: "MODP_2048_256",
    25: "ECP_192",
    26: "ECP_224",
    27: "ECP_224_BP",
    28: "ECP_256_BP",
    29: "ECP_384_BP",
    30: "ECP_512_BP",
    31: "CURVE25519",
    32: "CURVE448",
    33: "GOST3410_2012_256",
    34: "GOST3410_2012_512",
    35: "ML_KEM_512",
    36: "ML_KEM_768",
    37: "ML_KEM_1024",
}

# --- Transform type 5, sequence numbers: RFC 7296 §3.3.2 (0, 1: "No / Extended Sequence Numbers");
#     2 added and the type renamed "Sequence Numbers" by RFC 9838.
SEQUENCE_NUMBERS: dict[int, str] = {
    0: "NO_ESN",
    1: "ESN",
    2: "32_BIT_UNSPECIFIED_NUMBERS",
}

# --- Transform type 13, key wrap algorithms: RFC 9838.
KEY_WRAP_ALGORITHMS: dict[int, str] = {
    1: "KW_5649_128",
    2: "KW_5649_192",
    3: "KW_5649_256",
    4: "KW_ARX",
}

# --- Transform type 14, group controller authentication methods: RFC 9838.
GROUP_CONTROLLER_AUTH_METHODS: dict[int, str] = {
    1: "IMPLICIT",
    2: "DIGITAL_SIGNATURE",
}

# Transform type -> table of its transform IDs (the key exchange table serves KE and ADDKE1-7).
TRANSFORM_IDS: dict[int, dict[int, str]] = {
    1: ENCRYPTION_ALGORITHMS,
    2: PSEUDORANDOM_FUNCTIONS,
    3: INTEGRITY_ALGORITHMS,
    4: KEY_EXCHANGE_METHODS,
    5: SEQUENCE_NUMBERS,
    6: KEY_EXCHANGE_METHODS,
    7: KEY_EXCHANGE_METHODS,
    8: KEY_EXCHANGE_METHODS,
    9: KEY_EXCHANGE_METHODS,
    10: KEY_EXCHANGE_METHODS,
    11: KEY_EXCHANGE_METHODS,
    12: KEY_EXCHANGE_METHODS,
    13: KEY_WRAP_ALGORITHMS,
    14: GROUP_CONTROLLER_AUTH_METHODS,
}

# --- Transform attribute types: RFC 7296 §3.3.5 (the only one assigned).
TRANSFORM_ATTRIBUTES: dict[int, str] = {
    14: "KEY_LENGTH",
}
KEY_LENGTH_ATTRIBUTE = 14

# --- Security protocol identifiers: RFC 7296 §3.3.1; 4-5 RFC 4595; 6 RFC 9838.
PROTOCOL_IDS: dict[int, str] = {
    0: "NONE",
    1: "IKE",
    2: "AH",
    3: "ESP",
    4: "FC_ESP_HEADER",
    5: "FC_CT_AUTHENTICATION",
    6: "GIKE_UPDATE",
}

# --- Identification payload ID types: RFC 7296 §3.5; 12 RFC 4595; 13 RFC 7619.
ID_TYPES: dict[int, str] = {
    1: "ID_IPV4_ADDR",
    2: "ID_FQDN",
    3: "ID_RFC822_ADDR",
    5: "ID_IPV6_ADDR",
    9: "ID_DER_ASN1_DN",
    10: "ID_DER_ASN1_GN",
    11: "ID_KEY_ID",
    12: "ID_FC_NAME",
    13: "ID_NULL",
}

# --- Certificate encodings (CERT and CERTREQ): RFC 7296 §3.6; 14 RFC 4806; 15 RFC 7670.
CERTIFICATE_ENCODINGS: dict[int, str] = {
    1: "PKCS7_WRAPPED_X509_CERTIFICATE",
    2: "PGP_CERTIFICATE",
    3: "DNS_SIGNED_KEY",
    4: "X509_CERTIFICATE_SIGNATURE",
    6: "KERBEROS_TOKEN",
    7: "CERTIFICATE_REVOCATION_LIST",
    8: "AUTHORITY_REVOCATION_LIST",
    9: "SPKI_CERTIFICATE",
    10: "X509_CERTIFICATE_ATTRIBUTE",
    11: "RAW_RSA_KEY",
    12: "HASH_AND_URL_OF_X509_CERTIFICATE",
    13: "HASH_AND_URL_OF_X509_BUNDLE",
    14: "OCSP_CONTENT",
    15: "RAW_PUBLIC_KEY",
}

# --- Authentication methods: RFC 7296 §3.8; 9-11 RFC 4754; 12 RFC 6467; 13 RFC 7619;
#     14 RFC 7427; 0 named NONE by RFC 9838.
AUTH_METHODS: dict[int, str] = {
    0: "NONE",
    1: "RSA_DIGITAL_SIGNATURE",
    2: "SHARED_KEY_MESSAGE_INTEGRITY_CODE",
    3: "DSS_DIGITAL_SIGNATURE",
    9: "ECDSA_SHA_256_P256",
    10: "ECDSA_SHA_384_P384",
    11: "ECDSA_SHA_512_P521",
    12: "GENERIC_SECURE_PASSWORD_AUTHENTICATION_METHOD",
    13: "NULL_AUTHENTICATION",
    14: "DIGITAL_SIGNATURE",
}
DIGITAL_SIGNATURE_AUTH_METHOD = 14

# --- Notify message types, error types (1-16383): RFC 7296 §3.10.1; 40-41 RFC 4555; 42 RFC 5026;
#     45, 46, 49 RFC 9838; 47 RFC 9370; 48 RFC 9611.
NOTIFY_ERROR_TYPES: dict[int, str] = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD",
    4: "INVALID_IKE_SPI",
    5: "INVALID_MAJOR_VERSION",
    7: "INVALID_SYNTAX",
    9: "INVALID_MESSAGE_ID",
    11: "INVALID_SPI",
    14: "NO_PROPOSAL_CHOSEN",
    17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED",
    34: "SINGLE_PAIR_REQUIRED",
    35: "NO_ADDITIONAL_SAS",
    36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED",
    38: "TS_UNACCEPTABLE",
    39: "INVALID_SELECTORS",
    40: "UNACCEPTABLE_ADDRESSES",
    41: "UNEXPECTED_NAT_DETECTED",
    42: "USE_ASSIGNED_HoA",
    43: "TEMPORARY_FAILURE",
    44: "CHILD_SA_NOT_FOUND",
    45: "INVALID_GROUP_ID",
    46: "AUTHORIZATION_FAILED",
    47: "STATE_NOT_FOUND",
    48: "TS_MAX_QUEUE",
    49: "REGISTRATION_FAILED",
}

# --- Notify message types, status types (16384-65535): RFC 7296 §3.10.1 (16384-16395);
#     RFC 4555 MOBIKE (16396-16402); RFC 4478 (16403); RFC 4739 (16404-16405);
#     RFC 5685 redirect (16406-16408); RFC 5723 session resumption (16409-16413); RFC 5739 (16414);
#     RFC 5840 (16415); RFC 5857 (16416); RFC 5998 (16417); RFC 6023 (16418); RFC 6290 (16419);
#     RFC 6311 (16420-16423); RFC 6467 (16424); RFC 6631 (16425-16426); RFC 6867 (16427);
#     3GPP TS 24.303 (16428); RFC 9838 (16429, formerly SENDER_REQUEST_ID); RFC 7383 (16430);
#     RFC 7427 (16431); RFC 7791 (16432-16433); RFC 8019 (16434); RFC 8784 (16435-16437);
#     RFC 9242 (16438); RFC 8983 (16439-16440); RFC 9370 (16441); RFC 9347 (16442);
#     RFC 9593 (16443); RFC 9611 (16444); RFC 9867 PPK in IKE_INTERMEDIATE (16445-16446);
#     16447 is the code point used by draft-ietf-ipsecme-ikev2-downgrade-prevention.
NOTIFY_STATUS_TYPES: dict[int, str] = {
    16384: "INITIAL_CONTACT",
    16385: "SET_WINDOW_SIZE",
    16386: "ADDITIONAL_TS_POSSIBLE",
    16387: "IPCOMP_SUPPORTED",
    16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP",
    16390: "COOKIE",
    16391: "USE_TRANSPORT_MODE",
    16392: "HTTP_CERT_LOOKUP_SUPPORTED",
    16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
    16395: "NON_FIRST_FRAGMENTS_ALSO",
    16396: "MOBIKE_SUPPORTED",
    16397: "ADDITIONAL_IP4_ADDRESS",
    16398: "ADDITIONAL_IP6_ADDRESS",
    16399: "NO_ADDITIONAL_ADDRESSES",
    16400: "UPDATE_SA_ADDRESSES",
    16401: "COOKIE2",
    16402: "NO_NATS_ALLOWED",
    16403: "AUTH_LIFETIME",
    16404: "MULTIPLE_AUTH_SUPPORTED",
    16405: "ANOTHER_AUTH_FOLLOWS",
    16406: "REDIRECT_SUPPORTED",
    16407: "REDIRECT",
    16408: "REDIRECTED_FROM",
    16409: "TICKET_LT_OPAQUE",
    16410: "TICKET_REQUEST",
    16411: "TICKET_ACK",
    16412: "TICKET_NACK",
    16413: "TICKET_OPAQUE",
    16414: "LINK_ID",
    16415: "USE_WESP_MODE",
    16416: "ROHC_SUPPORTED",
    16417: "EAP_ONLY_AUTHENTICATION",
    16418: "CHILDLESS_IKEV2_SUPPORTED",
    16419: "QUICK_CRASH_DETECTION",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
    16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
    16422: "IKEV2_MESSAGE_ID_SYNC",
    16423: "IPSEC_REPLAY_COUNTER_SYNC",
    16424: "SECURE_PASSWORD_METHODS",
    16425: "PSK_PERSIST",
    16426: "PSK_CONFIRM",
    16427: "ERX_SUPPORTED",
    16428: "IFOM_CAPABILITY",
    16429: "GROUP_SENDER",
    16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS",
    16432: "CLONE_IKE_SA_SUPPORTED",
    16433: "CLONE_IKE_SA",
    16434: "PUZZLE",
    16435: "USE_PPK",
    16436: "PPK_IDENTITY",
    16437: "NO_PPK_AUTH",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
    16439: "IP4_ALLOWED",
    16440: "IP6_ALLOWED",
    16441: "ADDITIONAL_KEY_EXCHANGE",
    16442: "USE_AGGFRAG",
    16443: "SUPPORTED_AUTH_METHODS",
    16444: "SA_RESOURCE_INFO",
    16445: "USE_PPK_INT",
    16446: "PPK_IDENTITY_KEY",
    16447: "IKE_SA_INIT_FULL_TRANSCRIPT_AUTH",
}

NOTIFY_TYPES: dict[int, str] = {**NOTIFY_ERROR_TYPES, **NOTIFY_STATUS_TYPES}
FIRST_STATUS_TYPE = 16384
"""Notify types below this are errors (RFC 7296 §3.10.1)."""

# --- Traffic selector types: RFC 7296 §3.13.1; 9 RFC 4595; 10 RFC 9478.
TS_TYPES: dict[int, str] = {
    7: "TS_IPV4_ADDR_RANGE",
    8: "TS_IPV6_ADDR_RANGE",
    9: "TS_FC_ADDR_RANGE",
    10: "TS_SECLABEL",
}

# --- Configuration payload CFG types: RFC 7296 §3.15.
CP_TYPES: dict[int, str] = {
    1: "CFG_REQUEST",
    2: "CFG_REPLY",
    3: "CFG_SET",
    4: "CFG_ACK",
}

# --- Configuration attribute types: RFC 7296 §3.15.1; 5, 9, 11 are RFC 4306 names that RFC 7296
#     retired (kept so old peers read well); 13-15 RFC 7296; 16 RFC 5026; 17-18 RFC 5739;
#     19 RFC 5213 (Mobile IPv6); 20-21 RFC 7651; 22-24 3GPP TS 24.302; 25-26 RFC 8598;
#     27-29 RFC 9464 (encrypted DNS).
CONFIG_ATTRIBUTES: dict[int, str] = {
    1: "INTERNAL_IP4_ADDRESS",
    2: "INTERNAL_IP4_NETMASK",
    3: "INTERNAL_IP4_DNS",
    4: "INTERNAL_IP4_NBNS",
    5: "INTERNAL_ADDRESS_EXPIRY",
    6: "INTERNAL_IP4_DHCP",
    7: "APPLICATION_VERSION",
    8: "INTERNAL_IP6_ADDRESS",
    9: "INTERNAL_IP6_NETMASK",
    10: "INTERNAL_IP6_DNS",
    11: "INTERNAL_IP6_NBNS",
    12: "INTERNAL_IP6_DHCP",
    13: "INTERNAL_IP4_SUBNET",
    14: "SUPPORTED_ATTRIBUTES",
    15: "INTERNAL_IP6_SUBNET",
    16: "MIP6_HOME_PREFIX",
    17: "INTERNAL_IP6_LINK",
    18: "INTERNAL_IP6_PREFIX",
    19: "HOME_AGENT_ADDRESS",
    20: "P_CSCF_IP4_ADDRESS",
    21: "P_CSCF_IP6_ADDRESS",
    22: "FTT_KAT",
    23: "EXTERNAL_SOURCE_IP4_NAT_INFO",
    24: "TIMEOUT_PERIOD_FOR_LIVENESS_CHECK",
    25: "INTERNAL_DNS_DOMAIN",
    26: "INTERNAL_DNSSEC_TA",
    27: "ENCDNS_IP4",
    28: "ENCDNS_IP6",
    29: "ENCDNS_DIGEST_INFO",
}

# --- EAP codes: RFC 3748 §4; 5-6 RFC 6696.
EAP_CODES: dict[int, str] = {
    1: "REQUEST",
    2: "RESPONSE",
    3: "SUCCESS",
    4: "FAILURE",
    5: "INITIATE",
    6: "FINISH",
}

# --- EAP method types (the "Method Types" registry of RFC 3748 §5 and its successors), the ones
#     met in IKEv2 deployments and every standards-track method.
EAP_TYPES: dict[int, str] = {
    1: "IDENTITY",
    2: "NOTIFICATION",
    3: "NAK",
    4: "MD5_CHALLENGE",
    5: "OTP",
    6: "GTC",
    13: "TLS",
    17: "LEAP",
    18: "SIM",
    21: "TTLS",
    23: "AKA",
    25: "PEAP",
    26: "MSCHAPV2",
    29: "EAP_MSCHAP_V2",
    33: "MS_AUTH_TLV",
    38: "TNC",
    43: "FAST",
    46: "PAX",
    47: "PSK",
    48: "SAKE",
    49: "IKEV2",
    50: "AKA_PRIME",
    51: "GPSK",
    52: "PWD",
    53: "EKE",
    54: "PT_EAP",
    55: "TEAP",
    56: "NOOB",
    254: "EXPANDED",
    255: "EXPERIMENTAL",
}

# --- Hash algorithms of the SIGNATURE_HASH_ALGORITHMS notify: RFC 7427 §4; 5 RFC 8420;
#     6-7 RFC 9385.
HASH_ALGORITHMS: dict[int, str] = {
    1: "SHA1",
    2: "SHA2_256",
    3: "SHA2_384",
    4: "SHA2_512",
    5: "IDENTITY",
    6: "STREEBOG_256",
    7: "STREEBOG_512",
}

# --- Gateway identity types of REDIRECT / REDIRECTED_FROM: RFC 5685 §10.
GATEWAY_IDENTITY_TYPES: dict[int, str] = {
    1: "IPV4",
    2: "IPV6",
    3: "FQDN",
}

# --- RFC 7427 AUTH payloads carry an ASN.1 AlgorithmIdentifier; the OIDs commonly sent
#     (RFC 7427 Appendix A, RFC 8420 for EdDSA), by their DER content octets.
SIGNATURE_ALGORITHM_OIDS: dict[bytes, str] = {
    bytes.fromhex("2a864886f70d010105"): "sha1WithRSAEncryption",
    bytes.fromhex("2a864886f70d01010b"): "sha256WithRSAEncryption",
    bytes.fromhex("2a864886f70d01010c"): "sha384WithRSAEncryption",
    bytes.fromhex("2a864886f70d01010d"): "sha512WithRSAEncryption",
    bytes.fromhex("2a864886f70d01010a"): "RSASSA-PSS",
    bytes.fromhex("2a8648ce380403"): "dsa-with-sha1",
    bytes.fromhex("608648016503040302"): "dsa-with-sha256",
    bytes.fromhex("2a8648ce3d0401"): "ecdsa-with-SHA1",
    bytes.fromhex("2a8648ce3d040302"): "ecdsa-with-SHA256",
    bytes.fromhex("2a8648ce3d040303"): "ecdsa-with-SHA384",
    bytes.fromhex("2a8648ce3d040304"): "ecdsa-with-SHA512",
    bytes.fromhex("2b6570"): "Ed25519",
    bytes.fromhex("2b6571"): "Ed448",
}

# --- IP protocol numbers used in traffic selector texts (IANA "Protocol Numbers", the usual few).
IP_PROTOCOLS: dict[int, str] = {
    1: "icmp",
    6: "tcp",
    17: "udp",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "ipv6-icmp",
    132: "sctp",
}
