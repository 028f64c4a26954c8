"""Compatibility module: the matcher and verdict behind `ikesniff explain` now live in `ikesniff.logs.causes`.

Kept so that `from ikesniff.explain import ...` goes on working; new code imports from `ikesniff.logs`.
"""

from __future__ import annotations

from .logs.causes import (
    CONFIDENCES,
    DATA_FILE,
    ESTABLISHED,
    NO_EXCEPTION,
    Evidence,
    Explainer,
    Explanation,
    LogPatterns,
    PatternError,
    Verdict,
    compare_proposals,
    explain,
    log_patterns,
    parse,
    verdict,
)

__all__ = ["CONFIDENCES", "DATA_FILE", "ESTABLISHED", "NO_EXCEPTION", "Evidence", "Explainer", "Explanation",
           "LogPatterns", "PatternError", "Verdict", "compare_proposals", "explain", "log_patterns", "parse", "verdict"]
