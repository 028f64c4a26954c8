"""IKEv1 / ISAKMP registries as plain data.

Every table maps a wire number to the name ikesniff shows for it. Names are the IANA registry
names in upper snake case where IANA has one ("Internet Key Exchange (IKE) Attributes",
"Internet Security Association and Key Management Protocol (ISAKMP) Identifiers" and
"IPsec DOI" registries), otherwise the name the defining draft or vendor uses. Each block says
which document defines it. Numbers a table lacks are shown as `UNKNOWN_<n>` by the dissector.

Nothing here parses anything: `dissectors/ikev1.py` reads these dicts on its hot path, so they
stay plain module-level dicts keyed by int.
"""

from __future__ import annotations

# --- Exchange types: RFC 2408 §3.1 (0-5), RFC 2409 §5/§6.2 (32, 33), draft-ietf-ipsec-isakmp-mode-cfg (6)
# Names are those of SPEC §4 (0, reserved, is shown as UNKNOWN_0 like any unassigned number).
EXCHANGE_TYPES: dict[int, str] = {
    1: "BASE",
    2: "IDENTITY_PROTECTION",  # Main Mode
    3: "AUTHENTICATION_ONLY",
    4: "AGGRESSIVE",
    5: "INFORMATIONAL",
    6: "TRANSACTION",  # Mode-Config / XAUTH (draft-ietf-ipsec-isakmp-mode-cfg-05)
    32: "QUICK_MODE",
    33: "NEW_GROUP_MODE",
}

# --- Payload types: RFC 2408 §3.1 (1-13), draft-ietf-ipsec-isakmp-mode-cfg (14),
# RFC 3547/RFC 6407 GDOI (15-19, 22), RFC 3947 (20, 21), private use (128-255): 130/131 are the
# NAT-D/NAT-OA of draft-ietf-ipsec-nat-t-ike-01..03, 132 is Cisco's IKE fragmentation.
# Short names (Payload.name) as the project uses them in JSON `payloads` lists.
PAYLOAD_NAMES: dict[int, str] = {
    1: "SA",
    2: "P",
    3: "T",
    4: "KE",
    5: "ID",
    6: "CERT",
    7: "CR",
    8: "HASH",
    9: "SIG",
    10: "NONCE",
    11: "N",
    12: "D",
    13: "VID",
    14: "ATTR",
    15: "SAK",  # also the pre-RFC NAT-D of draft-ietf-ipsec-nat-t-ike-04..08: kept opaque
    16: "SAT",  # also the pre-RFC NAT-OA of the same drafts: kept opaque
    17: "KD",
    18: "SEQ",
    19: "POP",
    20: "NAT-D",
    21: "NAT-OA",
    22: "GAP",
    130: "NAT-D-DRAFT",
    131: "NAT-OA-DRAFT",
    132: "FRAG",
}

# Long names for error messages ("Notification payload at offset 56: ...").
PAYLOAD_LONG_NAMES: dict[int, str] = {
    1: "Security Association payload",
    2: "Proposal payload",
    3: "Transform payload",
    4: "Key Exchange payload",
    5: "Identification payload",
    6: "Certificate payload",
    7: "Certificate Request payload",
    8: "Hash payload",
    9: "Signature payload",
    10: "Nonce payload",
    11: "Notification payload",
    12: "Delete payload",
    13: "Vendor ID payload",
    14: "Attributes payload",
    15: "SA KEK payload",
    16: "SA TEK payload",
    17: "Key Download payload",
    18: "Sequence Number payload",
    19: "Proof of Possession payload",
    20: "NAT-D payload",
    21: "NAT-OA payload",
    22: "Group Associated Policy payload",
    130: "NAT-D (draft) payload",
    131: "NAT-OA (draft) payload",
    132: "Cisco Fragmentation payload",
}

# --- Domain of Interpretation: RFC 2408 §3.4 (0), RFC 2407 (1), RFC 3547 (2)
DOI_NAMES: dict[int, str] = {0: "ISAKMP", 1: "IPSEC", 2: "GDOI"}
DOI_IPSEC = 1

# --- IPsec DOI situation bits: RFC 2407 §4.2
SITUATION_BITS: dict[int, str] = {
    0x01: "SIT_IDENTITY_ONLY",
    0x02: "SIT_SECRECY",
    0x04: "SIT_INTEGRITY",
}

# --- Protocol identifiers: RFC 2407 §4.4.1, RFC 4705 (5)
PROTOCOL_ISAKMP = 1
PROTOCOL_IPSEC_AH = 2
PROTOCOL_IPSEC_ESP = 3
PROTOCOL_IPCOMP = 4
PROTOCOL_NAMES: dict[int, str] = {
    0: "RESERVED",
    1: "ISAKMP",
    2: "IPSEC_AH",
    3: "IPSEC_ESP",
    4: "IPCOMP",
    5: "GIGABEAM_RADIO",
}

# --- Transform identifiers per protocol
# ISAKMP: RFC 2407 §4.4.2
ISAKMP_TRANSFORM_IDS: dict[int, str] = {0: "RESERVED", 1: "KEY_IKE"}
# AH: RFC 2407 §4.4.3; RFC 4868 (5-7), RFC 2857 (8), RFC 3566 (9), RFC 4359 (10), RFC 4543 (11-13)
AH_TRANSFORM_IDS: dict[int, str] = {
    0: "RESERVED",
    1: "RESERVED",
    2: "AH_MD5",
    3: "AH_SHA",
    4: "AH_DES",
    5: "AH_SHA2-256",
    6: "AH_SHA2-384",
    7: "AH_SHA2-512",
    8: "AH_RIPEMD",
    9: "AH_AES-XCBC-MAC",
    10: "AH_RSA",
    11: "AH_AES-128-GMAC",
    12: "AH_AES-192-GMAC",
    13: "AH_AES-256-GMAC",
}
# ESP: RFC 2407 §4.4.4 (1-11), RFC 3602 (12), RFC 3686 (13), RFC 4309 (14-16), RFC 4106 (18-20),
# RFC 4196 (21), RFC 4312 (22), RFC 4543 (23)
ESP_TRANSFORM_IDS: dict[int, str] = {
    0: "RESERVED",
    1: "ESP_DES_IV64",
    2: "ESP_DES",
    3: "ESP_3DES",
    4: "ESP_RC5",
    5: "ESP_IDEA",
    6: "ESP_CAST",
    7: "ESP_BLOWFISH",
    8: "ESP_3IDEA",
    9: "ESP_DES_IV32",
    10: "ESP_RC4",
    11: "ESP_NULL",
    12: "ESP_AES",  # AES-CBC
    13: "ESP_AES-CTR",
    14: "ESP_AES-CCM_8",
    15: "ESP_AES-CCM_12",
    16: "ESP_AES-CCM_16",
    18: "ESP_AES-GCM_8",
    19: "ESP_AES-GCM_12",
    20: "ESP_AES-GCM_16",
    21: "ESP_SEED_CBC",
    22: "ESP_CAMELLIA",
    23: "ESP_NULL_AUTH_AES-GMAC",
}
# IPCOMP: RFC 2407 §4.4.5, RFC 3051 (3 LZS), RFC 3051/3173 (4 LZJH)
IPCOMP_TRANSFORM_IDS: dict[int, str] = {
    0: "RESERVED",
    1: "IPCOMP_OUI",
    2: "IPCOMP_DEFLATE",
    3: "IPCOMP_LZS",
    4: "IPCOMP_LZJH",
}
TRANSFORM_IDS_BY_PROTOCOL: dict[int, dict[int, str]] = {
    PROTOCOL_ISAKMP: ISAKMP_TRANSFORM_IDS,
    PROTOCOL_IPSEC_AH: AH_TRANSFORM_IDS,
    PROTOCOL_IPSEC_ESP: ESP_TRANSFORM_IDS,
    PROTOCOL_IPCOMP: IPCOMP_TRANSFORM_IDS,
}

# --- Diffie-Hellman groups: RFC 2409 §6 (1-4), RFC 3526 (5, 14-18), RFC 2409/4753/5903 (19-21),
# RFC 5114 (22-26), RFC 6954 (27-30), RFC 8031 (31, 32), RFC 9385 (33, 34); EC2N 6-13 from the
# IANA group description registry (draft-ietf-ipsec-ike-ecc-groups)
GROUP_NAMES: dict[int, str] = {
    1: "MODP_768",
    2: "MODP_1024",
    3: "EC2N_155",
    4: "EC2N_185",
    5: "MODP_1536",
    6: "EC2N_163_1",
    7: "EC2N_163_2",
    8: "EC2N_283_1",
    9: "EC2N_283_2",
    10: "EC2N_409_1",
    11: "EC2N_409_2",
    12: "EC2N_571_1",
    13: "EC2N_571_2",
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
}

# --- Oakley (phase 1) attribute types: RFC 2409 Appendix A (1-16); 17 (block size) and 20 (asymmetric
# algorithm type of the SM2 national-crypto suites) from the IANA "IKE Attributes" registry
OAKLEY_ENCRYPTION_ALGORITHM = 1
OAKLEY_HASH_ALGORITHM = 2
OAKLEY_AUTHENTICATION_METHOD = 3
OAKLEY_GROUP_DESCRIPTION = 4
OAKLEY_GROUP_TYPE = 5
OAKLEY_LIFE_TYPE = 11
OAKLEY_LIFE_DURATION = 12
OAKLEY_PRF = 13
OAKLEY_KEY_LENGTH = 14
OAKLEY_ATTRIBUTE_NAMES: dict[int, str] = {
    1: "ENCRYPTION_ALGORITHM",
    2: "HASH_ALGORITHM",
    3: "AUTHENTICATION_METHOD",
    4: "GROUP_DESCRIPTION",
    5: "GROUP_TYPE",
    6: "GROUP_PRIME",
    7: "GROUP_GENERATOR_ONE",
    8: "GROUP_GENERATOR_TWO",
    9: "GROUP_CURVE_A",
    10: "GROUP_CURVE_B",
    11: "LIFE_TYPE",
    12: "LIFE_DURATION",
    13: "PRF",
    14: "KEY_LENGTH",
    15: "FIELD_SIZE",
    16: "GROUP_ORDER",
    17: "BLOCK_SIZE",
    20: "ASYMMETRIC_CRYPTOGRAPHIC_ALGORITHM_TYPE",
}
# Encryption algorithms: RFC 2409 App. A (1-7), RFC 3602 (7 AES-CBC), RFC 4132/4312 (8 Camellia)
OAKLEY_ENCRYPTION_NAMES: dict[int, str] = {
    1: "DES-CBC",
    2: "IDEA-CBC",
    3: "BLOWFISH-CBC",
    4: "RC5-R16-B64-CBC",
    5: "3DES-CBC",
    6: "CAST-CBC",
    7: "AES-CBC",
    8: "CAMELLIA-CBC",
}
# Hash algorithms: RFC 2409 App. A (1-3), RFC 4868 (4-6)
OAKLEY_HASH_NAMES: dict[int, str] = {
    1: "MD5",
    2: "SHA1",
    3: "TIGER",
    4: "SHA2-256",
    5: "SHA2-384",
    6: "SHA2-512",
}
# Authentication methods: RFC 2409 App. A (1-5), RFC 4754 (9-11); 64221-64224 from
# draft-ietf-ipsec-isakmp-hybrid-auth-05; 65001-65010 from draft-beaulieu-ike-xauth-02 §7.2
OAKLEY_AUTH_METHOD_NAMES: dict[int, str] = {
    1: "PRE_SHARED_KEY",
    2: "DSS_SIGNATURES",
    3: "RSA_SIGNATURES",
    4: "RSA_ENCRYPTION",
    5: "RSA_REVISED_ENCRYPTION",
    6: "ELGAMAL_ENCRYPTION",
    7: "ELGAMAL_REVISED_ENCRYPTION",
    8: "ECDSA_SIGNATURES",
    9: "ECDSA_SHA256_P256",
    10: "ECDSA_SHA384_P384",
    11: "ECDSA_SHA512_P521",
    64221: "HYBRID_INIT_RSA",
    64222: "HYBRID_RESP_RSA",
    64223: "HYBRID_INIT_DSS",
    64224: "HYBRID_RESP_DSS",
    65001: "XAUTH_INIT_PRESHARED",
    65002: "XAUTH_RESP_PRESHARED",
    65003: "XAUTH_INIT_DSS",
    65004: "XAUTH_RESP_DSS",
    65005: "XAUTH_INIT_RSA",
    65006: "XAUTH_RESP_RSA",
    65007: "XAUTH_INIT_RSA_ENCRYPTION",
    65008: "XAUTH_RESP_RSA_ENCRYPTION",
    65009: "XAUTH_INIT_RSA_REVISED_ENCRYPTION",
    65010: "XAUTH_RESP_RSA_REVISED_ENCRYPTION",
}
# Group types: RFC 2409 App. A
OAKLEY_GROUP_TYPE_NAMES: dict[int, str] = {1: "MODP", 2: "ECP", 3: "EC2N"}
# Life types: RFC 2409 App. A
LIFE_TYPE_NAMES: dict[int, str] = {1: "SECONDS", 2: "KILOBYTES"}
# PRF: RFC 2409 App. A defines no values (all reserved); none registered since.
OAKLEY_PRF_NAMES: dict[int, str] = {}
# Asymmetric cryptographic algorithm type: IANA IKE attributes (GM/T 0022 national crypto suites)
OAKLEY_ASYMMETRIC_NAMES: dict[int, str] = {1: "RSA", 2: "SM2"}

OAKLEY_VALUE_NAMES: dict[int, dict[int, str]] = {
    OAKLEY_ENCRYPTION_ALGORITHM: OAKLEY_ENCRYPTION_NAMES,
    OAKLEY_HASH_ALGORITHM: OAKLEY_HASH_NAMES,
    OAKLEY_AUTHENTICATION_METHOD: OAKLEY_AUTH_METHOD_NAMES,
    OAKLEY_GROUP_DESCRIPTION: GROUP_NAMES,
    OAKLEY_GROUP_TYPE: OAKLEY_GROUP_TYPE_NAMES,
    OAKLEY_LIFE_TYPE: LIFE_TYPE_NAMES,
    OAKLEY_PRF: OAKLEY_PRF_NAMES,
    20: OAKLEY_ASYMMETRIC_NAMES,
}

# --- IPsec DOI (phase 2) attribute types: RFC 2407 §4.5 (1-9), RFC 3168 (10), RFC 4304 (11),
# RFC 4359 (12, 13), RFC 6407 (14, 15)
IPSEC_SA_LIFE_TYPE = 1
IPSEC_SA_LIFE_DURATION = 2
IPSEC_GROUP_DESCRIPTION = 3
IPSEC_ENCAPSULATION_MODE = 4
IPSEC_AUTHENTICATION_ALGORITHM = 5
IPSEC_KEY_LENGTH = 6
IPSEC_ATTRIBUTE_NAMES: dict[int, str] = {
    1: "SA_LIFE_TYPE",
    2: "SA_LIFE_DURATION",
    3: "GROUP_DESCRIPTION",
    4: "ENCAPSULATION_MODE",
    5: "AUTHENTICATION_ALGORITHM",
    6: "KEY_LENGTH",
    7: "KEY_ROUNDS",
    8: "COMPRESS_DICTIONARY_SIZE",
    9: "COMPRESS_PRIVATE_ALGORITHM",
    10: "ECN_TUNNEL",
    11: "EXTENDED_SEQUENCE_NUMBER",
    12: "AUTHENTICATION_KEY_LENGTH",
    13: "SIGNATURE_ENCODING_ALGORITHM",
    14: "ADDRESS_PRESERVATION",
    15: "SA_DIRECTION",
}
# Encapsulation modes: RFC 2407 §4.5 (1, 2), RFC 3947 §5 (3, 4); 61443/61444 are the values of
# draft-ietf-ipsec-nat-t-ike-00..08 still sent by older peers; 61440 Check Point's own UDP mode
ENCAPSULATION_MODE_NAMES: dict[int, str] = {
    1: "TUNNEL",
    2: "TRANSPORT",
    3: "UDP_ENCAPSULATED_TUNNEL",
    4: "UDP_ENCAPSULATED_TRANSPORT",
    61440: "CHECKPOINT_UDP_ENCAPSULATION",
    61443: "UDP_ENCAPSULATED_TUNNEL_DRAFT",
    61444: "UDP_ENCAPSULATED_TRANSPORT_DRAFT",
}
# Authentication algorithms: RFC 2407 §4.5 (1-4), RFC 4868 (5-7), RFC 2857 (8), RFC 3566 (9),
# RFC 4359 (10), RFC 4543 (11-13)
IPSEC_AUTH_ALGORITHM_NAMES: dict[int, str] = {
    1: "HMAC-MD5",
    2: "HMAC-SHA1",
    3: "DES-MAC",
    4: "KPDK",
    5: "HMAC-SHA2-256",
    6: "HMAC-SHA2-384",
    7: "HMAC-SHA2-512",
    8: "HMAC-RIPEMD",
    9: "AES-XCBC-MAC",
    10: "SIG-RSA",
    11: "AES-128-GMAC",
    12: "AES-192-GMAC",
    13: "AES-256-GMAC",
}
# ECN tunnel: RFC 3168 §9.2.1
ECN_TUNNEL_NAMES: dict[int, str] = {1: "ALLOWED", 2: "FORBIDDEN"}
# Extended sequence number: RFC 4304 §2
ESN_NAMES: dict[int, str] = {1: "64_BIT_SEQUENCE_NUMBER"}
# Signature encoding: RFC 4359 §3
SIGNATURE_ENCODING_NAMES: dict[int, str] = {1: "RSASSA-PKCS1-V1_5", 2: "RSASSA-PSS"}
# Address preservation and SA direction: RFC 6407 §5.4
ADDRESS_PRESERVATION_NAMES: dict[int, str] = {
    1: "NONE",
    2: "SOURCE_ONLY",
    3: "DESTINATION_ONLY",
    4: "SOURCE_AND_DESTINATION",
}
SA_DIRECTION_NAMES: dict[int, str] = {1: "SENDER_ONLY", 2: "RECEIVER_ONLY", 3: "SYMMETRIC"}

IPSEC_VALUE_NAMES: dict[int, dict[int, str]] = {
    IPSEC_SA_LIFE_TYPE: LIFE_TYPE_NAMES,
    IPSEC_GROUP_DESCRIPTION: GROUP_NAMES,
    IPSEC_ENCAPSULATION_MODE: ENCAPSULATION_MODE_NAMES,
    IPSEC_AUTHENTICATION_ALGORITHM: IPSEC_AUTH_ALGORITHM_NAMES,
    10: ECN_TUNNEL_NAMES,
    11: ESN_NAMES,
    13: SIGNATURE_ENCODING_NAMES,
    14: ADDRESS_PRESERVATION_NAMES,
    15: SA_DIRECTION_NAMES,
}

# --- Identification types: RFC 2407 §4.6.2.1 (1-11), RFC 3554 §3.1 (12 ID_LIST)
ID_IPV4_ADDR = 1
ID_FQDN = 2
ID_USER_FQDN = 3
ID_IPV4_ADDR_SUBNET = 4
ID_IPV6_ADDR = 5
ID_IPV6_ADDR_SUBNET = 6
ID_IPV4_ADDR_RANGE = 7
ID_IPV6_ADDR_RANGE = 8
ID_DER_ASN1_DN = 9
ID_DER_ASN1_GN = 10
ID_KEY_ID = 11
ID_LIST = 12
ID_TYPE_NAMES: dict[int, str] = {
    1: "IPV4_ADDR",
    2: "FQDN",
    3: "USER_FQDN",
    4: "IPV4_ADDR_SUBNET",
    5: "IPV6_ADDR",
    6: "IPV6_ADDR_SUBNET",
    7: "IPV4_ADDR_RANGE",
    8: "IPV6_ADDR_RANGE",
    9: "DER_ASN1_DN",
    10: "DER_ASN1_GN",
    11: "KEY_ID",
    12: "LIST",  # RFC 3554
}

# --- Certificate encodings: RFC 2408 §3.9 (1-10)
CERT_ENCODING_NAMES: dict[int, str] = {
    0: "NONE",
    1: "PKCS7_WRAPPED_X509",
    2: "PGP",
    3: "DNS_SIGNED_KEY",
    4: "X509_SIGNATURE",
    5: "X509_KEY_EXCHANGE",
    6: "KERBEROS_TOKENS",
    7: "CRL",
    8: "ARL",
    9: "SPKI",
    10: "X509_ATTRIBUTE",
}

# --- Notify message types
# Errors 1-30: RFC 2408 §3.14.1; 16384 CONNECTED: RFC 2408; 24576-24578: RFC 2407 §4.6.3;
# 36136/36137: RFC 3706 §5.1; 30000-30002, 32768/32769, 40501-40503: Cisco private (as libreswan
# and Wireshark name them); 40001: NetScreen/Juniper private (NHTB).
NOTIFY_NAMES: dict[int, str] = {
    1: "INVALID_PAYLOAD_TYPE",
    2: "DOI_NOT_SUPPORTED",
    3: "SITUATION_NOT_SUPPORTED",
    4: "INVALID_COOKIE",
    5: "INVALID_MAJOR_VERSION",
    6: "INVALID_MINOR_VERSION",
    7: "INVALID_EXCHANGE_TYPE",
    8: "INVALID_FLAGS",
    9: "INVALID_MESSAGE_ID",
    10: "INVALID_PROTOCOL_ID",
    11: "INVALID_SPI",
    12: "INVALID_TRANSFORM_ID",
    13: "ATTRIBUTES_NOT_SUPPORTED",
    14: "NO_PROPOSAL_CHOSEN",
    15: "BAD_PROPOSAL_SYNTAX",
    16: "PAYLOAD_MALFORMED",
    17: "INVALID_KEY_INFORMATION",
    18: "INVALID_ID_INFORMATION",
    19: "INVALID_CERT_ENCODING",
    20: "INVALID_CERTIFICATE",
    21: "CERT_TYPE_UNSUPPORTED",
    22: "INVALID_CERT_AUTHORITY",
    23: "INVALID_HASH_INFORMATION",
    24: "AUTHENTICATION_FAILED",
    25: "INVALID_SIGNATURE",
    26: "ADDRESS_NOTIFICATION",
    27: "NOTIFY_SA_LIFETIME",
    28: "CERTIFICATE_UNAVAILABLE",
    29: "UNSUPPORTED_EXCHANGE_TYPE",
    30: "UNEQUAL_PAYLOAD_LENGTHS",
    16384: "CONNECTED",
    24576: "RESPONDER_LIFETIME",
    24577: "REPLAY_STATUS",
    24578: "INITIAL_CONTACT",
    30000: "CISCO_HELLO",
    30001: "CISCO_WWTEBR",
    30002: "CISCO_SHUT_UP",
    32768: "IOS_KEEP_ALIVE_REQ",
    32769: "IOS_KEEP_ALIVE_ACK",
    36136: "R_U_THERE",
    36137: "R_U_THERE_ACK",
    40001: "NETSCREEN_NHTB_INFORM",
    40501: "UNITY_LOAD_BALANCE",
    40502: "UNITY_UNKNOWN",
    40503: "UNITY_GROUP_HASH",
}
NOTIFY_RESPONDER_LIFETIME = 24576
NOTIFY_REPLAY_STATUS = 24577
NOTIFY_R_U_THERE = 36136
NOTIFY_R_U_THERE_ACK = 36137
NOTIFY_UNITY_LOAD_BALANCE = 40501

# --- Mode-Config (draft-ietf-ipsec-isakmp-mode-cfg-05 §3.2) message types of the Attributes payload
CFG_TYPE_NAMES: dict[int, str] = {1: "REQUEST", 2: "REPLY", 3: "SET", 4: "ACK"}

# --- Mode-Config / XAUTH attribute types: draft-ietf-ipsec-isakmp-mode-cfg-05 §3.3 (1-15),
# draft-beaulieu-ike-xauth-02 §6.1 (16520-16529), Check Point private (16387-16402),
# Cisco Unity private (28672-28682; names as in strongSwan/Wireshark).
CFG_ATTRIBUTE_NAMES: dict[int, str] = {
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
    16387: "CHKPT_DEF_DOMAIN",
    16388: "CHKPT_MAC_ADDRESS",
    16389: "CHKPT_MARCIPAN_REASON_CODE",
    16400: "CHKPT_UNKNOWN1",
    16401: "CHKPT_UNKNOWN2",
    16402: "CHKPT_UNKNOWN3",
    16520: "XAUTH_TYPE",
    16521: "XAUTH_USER_NAME",
    16522: "XAUTH_USER_PASSWORD",
    16523: "XAUTH_PASSCODE",
    16524: "XAUTH_MESSAGE",
    16525: "XAUTH_CHALLENGE",
    16526: "XAUTH_DOMAIN",
    16527: "XAUTH_STATUS",
    16528: "XAUTH_NEXT_PIN",
    16529: "XAUTH_ANSWER",
    28672: "UNITY_BANNER",
    28673: "UNITY_SAVE_PASSWD",
    28674: "UNITY_DEF_DOMAIN",
    28675: "UNITY_SPLIT_DOMAIN",
    28676: "UNITY_SPLIT_INCLUDE",
    28677: "UNITY_NATT_PORT",
    28678: "UNITY_SPLIT_EXCLUDE",
    28679: "UNITY_PFS",
    28680: "UNITY_FW_TYPE",
    28681: "UNITY_BACKUP_SERVERS",
    28682: "UNITY_DDNS_HOSTNAME",
}
# XAUTH types: draft-beaulieu-ike-xauth-02 §6.2
XAUTH_TYPE_NAMES: dict[int, str] = {0: "GENERIC", 1: "RADIUS_CHAP", 2: "OTP", 3: "S_KEY"}
# XAUTH status: draft-beaulieu-ike-xauth-02 §6.1
XAUTH_STATUS_NAMES: dict[int, str] = {0: "FAIL", 1: "OK"}
CFG_VALUE_NAMES: dict[int, dict[int, str]] = {
    16520: XAUTH_TYPE_NAMES,
    16527: XAUTH_STATUS_NAMES,
}
# Values a user types in secret: never kept, only their length (XAUTH password, passcode, next PIN, answer).
CFG_SECRET_ATTRIBUTES: frozenset[int] = frozenset({16522, 16523, 16528, 16529})
# Values that are IPv4 / IPv6 addresses (possibly followed by a netmask or prefix length).
CFG_IPV4_ATTRIBUTES: frozenset[int] = frozenset({1, 2, 3, 4, 6, 13, 28676, 28678})
CFG_IPV6_ATTRIBUTES: frozenset[int] = frozenset({8, 9, 10, 11, 12, 15})
# Values that are text.
CFG_TEXT_ATTRIBUTES: frozenset[int] = frozenset(
    {7, 16387, 16521, 16524, 16525, 16526, 28672, 28674, 28675, 28681, 28682}
)

# Compact names used by `proposal_text` for the diagnosis layer ("AES-CBC-256/SHA1/MODP_1024/PSK/86400s").
AUTH_METHOD_SHORT: dict[int, str] = {
    1: "PSK",
    2: "DSS",
    3: "RSA",
    4: "RSA-ENC",
    5: "RSA-REV-ENC",
    9: "ECDSA-256",
    10: "ECDSA-384",
    11: "ECDSA-521",
    64221: "HYBRID-RSA",
    64222: "HYBRID-RSA",
    64223: "HYBRID-DSS",
    64224: "HYBRID-DSS",
    65001: "XAUTH-PSK",
    65002: "XAUTH-PSK",
    65003: "XAUTH-DSS",
    65004: "XAUTH-DSS",
    65005: "XAUTH-RSA",
    65006: "XAUTH-RSA",
    65007: "XAUTH-RSA-ENC",
    65008: "XAUTH-RSA-ENC",
    65009: "XAUTH-RSA-REV-ENC",
    65010: "XAUTH-RSA-REV-ENC",
}
OAKLEY_ENCRYPTION_SHORT: dict[int, str] = {
    1: "DES",
    2: "IDEA",
    3: "BLOWFISH",
    4: "RC5",
    5: "3DES",
    6: "CAST",
    7: "AES-CBC",
    8: "CAMELLIA-CBC",
}
LIFE_UNIT_SHORT: dict[int, str] = {1: "s", 2: "KB"}

