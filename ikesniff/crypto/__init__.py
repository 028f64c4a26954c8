"""Key material, decryption and pre-shared-key checks, behind one sans-IO seam (`Crypto`).

The pipeline hands `Crypto.open` each parsed message with its bytes and gets back what the keys opened
(the decrypted payloads, or why they could not be read); at diagnosis time `Crypto.conclusions` gives,
per IKE SA, what the keys and pre-shared keys concluded (a key mismatch, a PSK that verifies or not) as
a `KeyConclusions` record. Nothing here writes into the tracker's records.

Modules: `keys` (key files and the key store: Wireshark tables, charon logs, tcpdump secrets),
`charonlog` (the charon log grammar, shared with the lab), `decrypt` (IKEv2 SK/SKF), `ikev1` (IKEv1
key derivation and decryption), `psk` (hash and AUTH checks, PSK files), `session` (the seam).
Knows nothing of files beyond reading the key and PSK files it is given, of the tracker or of output.
"""

from .conclusions import KeyConclusions
from .session import Crypto

__all__ = ["Crypto", "KeyConclusions"]
