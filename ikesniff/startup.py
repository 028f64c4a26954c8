"""What the command line sets before anything loads numpy (imported first by `cli`).

numpy's wheels bring OpenBLAS, which starts a thread per core when numpy is imported and lets each spin
for a while: about 0.1 s of CPU for nothing, since ikesniff does no linear algebra. One thread is asked
for, unless the user's environment says otherwise. (The library, `ikesniff.api`, leaves its host's
environment alone.)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
