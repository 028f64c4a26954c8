"""ikesniff's laboratory: real strongSwan peers in network namespaces that produce pcaps/.

Entry point: ``lab/run.py``. The scenarios are data in ``lab/scenarios.py``. Standard library only.
"""
