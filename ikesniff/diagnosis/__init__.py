"""Diagnosis: from what the tracker kept about an IKE SA (and what the keys revealed) to a cause code, a
confidence, the frames that prove it and a remedy that names the side to change.

Where things live:
- `context.py`: `Context`, what a rule may look at besides the SA, and `build_context`, the one builder
  used for SAs going silent, at the end of the input and for early verdicts alike;
- `facts.py`: the helpers rules share (the opening exchange, who gave up, how much plaintext an encrypted
  answer can hold, when the SA came up, ESP between the peers);
- `rules/`: the rules, by family (`phase1`, `phase2`, `authentication` (PSK, XAUTH, EAP, certificates),
  `rekey`, `restart`, `liveness`, `teardown`, `dataplane`, and `notifies` for notifies read in clear or
  decrypted);
- `certificates.py`: what an X.509 certificate read in a decrypted CERT payload says (dates, names, issuer);
- `engine.py`: `RULES`, the order they are tried in, and `diagnose` / `verdict`;
- `findings.py`: what is worth knowing that is not a failure.
The notify -> cause table is data beside the cause catalog (`ikesniff/data/notify_causes.json`); the
catalog says what to tell the user about a cause in general.
frames that prove it and a remedy that names the side to change.

A rule says *when* a cause applies and *what was seen*; the catalog (`catalog.py`) says what to
tell the user about the cause in general. Rules are small functions tried in order (`RULES`); the
first that concludes wins. Each states in its docstring the evidence it needs.

Confidence (SPEC §4):
- certain: the decisive notify or payload was read (in clear, or decrypted);
- likely: a strong wire pattern (sizes, retransmissions, who gave up, ICMP);
- possible: the wire is ambiguous; the alternatives name what else fits.

What the wire cannot tell without keys, and what the lab measured (strongSwan 5.9.8, `pcaps/`):
- an IKEv2 IKE_AUTH answer too short to hold the responder's ID and AUTH is an error notify; a wrong
  PSK and an unknown identity give the same 80-octet answer (AUTHENTICATION_FAILED);
- an IKE_AUTH answer that holds ID and AUTH but is too short for an SA and two TS payloads leaves a
  childless IKE SA: TS_UNACCEPTABLE and NO_PROPOSAL_CHOSEN are the same size;
- strongSwan answers NO_PROPOSAL_CHOSEN also when it has no configuration for the peer's address or
  IKE version (36 octets, the same as a real proposal mismatch);
- IKEv1 main mode with different PSKs: message 5 cannot be decrypted by the responder, which answers
  with encrypted notifies the initiator cannot read either, so the initiator keeps retransmitting;
  with an unknown identity the keys agree, the initiator reads AUTHENTICATION_FAILED and stops;
- a Delete and an empty liveness check are the same size with block ciphers.
This package knows nothing of files, sockets or output formats.
"""

from .context import Conclusion, Context, build_context
from .engine import FAILING, RULES, conclude, diagnose, is_failure, verdict
from .findings import findings

__all__ = ["FAILING", "RULES", "Conclusion", "Context", "build_context", "conclude", "diagnose",
           "findings", "is_failure", "verdict"]
