import sys
from pathlib import Path

# The tests import their shared helpers (oracle.py, ...) as plain modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))
