"""Wording shared by the Markdown and HTML reports (times, sizes, headings, summary rows), so that
both say the same things in the same words."""

from __future__ import annotations

from datetime import UTC, datetime

from ..events import SummaryEvent, VerdictEvent
from .model import InputIdentity, OfferEntry, Report, TimeSpan

NO_TUNNEL = "No IKE tunnel was seen in the input."


def utc(seconds: float, date: bool = True) -> str:
    """'2026-11-23 12:02:09.962 UTC', or the clock time alone."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f" if date else "%H:%M:%S.%f")[:-3]
    return f"{text} UTC" if date else text


def size(octets: int | None) -> str:
    return "-" if octets is None else f"{octets:,} bytes"


def outcome(verdict: VerdictEvent) -> str:
    return verdict.outcome.upper().replace("_", " ")


def tunnel_title(verdict: VerdictEvent) -> str:
    return " ↔ ".join(verdict.peers)


def verdict_facts(verdict: VerdictEvent) -> list[str]:
    """'confidence: certain', 'phase 1', 'Huawei: ...', 'also possible: ...' as they apply."""
    facts = [f"confidence: {verdict.confidence}"]
    if verdict.phase:
        facts.append(f"phase {verdict.phase}")
    if verdict.huawei:
        facts.append(f"Huawei: {verdict.huawei}")
    if verdict.alternatives:
        facts.append(f"also possible: {', '.join(verdict.alternatives)}")
    return facts


FRAMES_LISTED = 8


def offer_heading(entry: OfferEntry) -> str:
    """'frame 1, IKE_SA_INIT, offered as initiator'; 'frames 188, 287, ...' when it was the same each time."""
    frames = ", ".join(str(frame) for frame in entry.frames[:FRAMES_LISTED])
    if len(entry.frames) > FRAMES_LISTED:
        frames += f" and {len(entry.frames) - FRAMES_LISTED} more"
    return f"frame{'s' if len(entry.frames) > 1 else ''} {frames}, {entry.exchange}, {entry.what} as {entry.side}"


def span_of(spans: list[TimeSpan], inputs: list[InputIdentity], item: InputIdentity) -> TimeSpan | None:
    """The span of an input's messages (a single input owns the single span whatever its messages call it)."""
    if len(inputs) == 1 and len(spans) == 1:
        return spans[0]
    return next((span for span in spans if span.file == item.name), None)


def span_text(span: TimeSpan | None) -> str:
    if span is None:
        return "no IKE message"
    return f"{utc(span.first)} to {utc(span.last)} ({span.last - span.first:.3f} s, {span.messages} IKE messages)"


def summary_rows(summary: SummaryEvent) -> list[tuple[str, str]]:
    outcomes = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in sorted(summary.outcomes.items()))
    return [("frames read", str(summary.frames)), ("IKE messages", str(summary.ike_messages)),
            ("IKE SAs", str(summary.ike_sas)), ("tunnels", f"{summary.tunnels}" + (f" ({outcomes})" if outcomes else "")),
            ("ESP packets", f"{summary.esp_packets + summary.esp_in_udp_packets} in {summary.esp_flows} flows"),
            ("decode errors", str(summary.decode_errors)), ("IP fragments", str(summary.ip_fragments)),
            ("seconds taken", f"{summary.seconds:.3f}")]


def left_out_note(report: Report) -> str:
    """Empty, or what the report limits left out."""
    if not report.messages_left_out:
        return ""
    return (f"{report.messages_left_out} IKE messages are not listed in this report (it keeps at most "
            f"{report.limits.get('messages_per_ike_sa')} per IKE SA and {report.limits.get('messages_in_total')} "
            f"in all); the verdicts and findings rest on every message.")
