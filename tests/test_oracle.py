"""tshark is the oracle: on every committed and shared capture, tshark and `ikesniff --json` agree
frame by frame on both SPIs, version, exchange type, message id, ISAKMP length and notify types.

Where tshark 4.0 is provably wrong, DISAGREEMENTS names the frame and the reason; the test then
checks that tshark still says what we claim it says, so a fixed tshark would show up here.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from oracle import CORPUS, REPO, FrameFields, captures, have_tshark, ikesniff_frames, tshark_frames

pytestmark = [pytest.mark.oracle,
              pytest.mark.skipif(not have_tshark(), reason="tshark is not installed (make setup installs it)")]

# (capture relative to its root, frame) -> (what tshark reports, why it is wrong)
DISAGREEMENTS: dict[tuple[str, int], tuple[FrameFields | None, str]] = {}


def _name(path: Path) -> str:
    for root in (CORPUS, REPO / "pcaps"):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


CAPTURES = captures()


def test_the_oracle_sees_every_capture() -> None:
    corpus = [p for p in CAPTURES if p.is_relative_to(CORPUS)]
    assert len(corpus) >= 60, f"only {len(corpus)} corpus captures found under {CORPUS}"


@pytest.mark.parametrize("path", CAPTURES, ids=_name)
def test_ikesniff_agrees_with_tshark_frame_by_frame(path: Path) -> None:
    theirs = tshark_frames(path)
    ours, _ = ikesniff_frames(path)
    name = _name(path)
    problems = []
    for frame in sorted(set(theirs) | set(ours)):
        expected, reason = DISAGREEMENTS.get((name, frame), (theirs.get(frame), ""))
        if reason:
            assert theirs.get(frame) == expected, f"{name} frame {frame}: tshark changed its mind ({reason})"
            continue
        got = ours.get(frame)
        if got != expected:
            problems.append(f"frame {frame}: tshark {asdict(expected) if expected else None} "
                            f"!= ikesniff {asdict(got) if got else None}")
    assert not problems, f"{name}:\n" + "\n".join(problems[:20])
