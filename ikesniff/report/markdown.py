"""The report as Markdown (GitHub/GitLab flavour): tables, a Mermaid sequence diagram per tunnel."""

from __future__ import annotations

import re
from itertools import zip_longest

from ..output import plural
from .model import OfferColumn, RemedyPart, Report, TunnelReport
from .sequence import mermaid
from .text import (
    NO_TUNNEL,
    left_out_note,
    offer_heading,
    outcome,
    size,
    span_of,
    span_text,
    summary_rows,
    tunnel_title,
    utc,
    verdict_facts,
)

SPECIAL = re.compile(r"([\\`*\[\]<>|])|(?<!\w)_|_(?!\w)")


def escape(text: str) -> str:
    """Markdown-inert text, fit for a table cell (underscores inside words, as in NO_PROPOSAL_CHOSEN,
    are left alone: they emphasise nothing)."""
    return SPECIAL.sub(lambda match: "\\" + match.group(0), " ".join(text.split()))


def render(report: Report) -> str:
    lines = ["# ikesniff report", "", *_inputs(report)]
    for tunnel in report.tunnels:
        lines += _tunnel(tunnel, len(report.inputs) > 1)
    if not report.tunnels:
        lines += [f"**{NO_TUNNEL}**", ""]
    if report.other_findings:
        lines += ["## Findings outside the tunnels", ""]
        lines += [f"- **{escape(f.kind)}** [{escape(f.ike_sa)}] frames {', '.join(map(str, f.frames))}: "
                  f"{escape(f.detail)}" for f in report.other_findings] + [""]
    if report.decrypted:
        lines += ["## Decrypted payloads", ""]
        for row in report.decrypted:
            lines += [f"Frame {row.frame}: {escape(row.title)}", "", "```", *row.lines, "```", ""]
    lines += ["## Summary", "", "| what | count |", "|---|---|"]
    lines += [f"| {name} | {escape(value)} |" for name, value in summary_rows(report.summary)] + [""]
    if note := left_out_note(report):
        lines += [escape(note), ""]
    return "\n".join(lines)


def _inputs(report: Report) -> list[str]:
    lines = ["| input | SHA-256 | size | IKE traffic |", "|---|---|---|---|"]
    for item in report.inputs:
        digest = f"`{item.sha256}`" if item.sha256 else "- (stream)"
        lines.append(f"| {escape(item.name)} | {digest} | {size(item.size)} | "
                     f"{escape(span_text(span_of(report.spans, report.inputs, item)))} |")
    verdicts = ", ".join(f"{outcome(t.verdict)} {t.verdict.code}" for t in report.tunnels) or "no tunnel seen"
    return [*lines, "", f"ikesniff {escape(report.version)} · {plural(len(report.tunnels), 'tunnel')}: {escape(verdicts)}", ""]


def _tunnel(tunnel: TunnelReport, several_inputs: bool) -> list[str]:
    verdict = tunnel.verdict
    lines = [f"## Tunnel {escape(tunnel_title(verdict))}: {outcome(verdict)} {verdict.code}", "",
             f"> **{outcome(verdict)} {verdict.code}** ({escape('; '.join(verdict_facts(verdict)))})", ">",
             f"> {escape(verdict.message)}", ""]
    if several_inputs and verdict.file:
        lines += [f"Frame numbers are those of {escape(verdict.file)}.", ""]
    lines += _remedy(tunnel.remedy)
    lines += ["### Evidence", "", "| frame | time | direction | exchange | what it shows |", "|---|---|---|---|---|"]
    for row in tunnel.evidence:
        time = utc(row.time, date=False) if row.time is not None else "-"
        lines.append(f"| {escape(row.source) if row.source else row.frame} | {time} | {escape(row.direction) or '-'} | {escape(row.exchange) or '-'} | "
                     f"{escape(row.why)} |")
    lines += ["", *_offers(tunnel.offers), *_diagram(tunnel), *_attempts(tunnel), *_findings(tunnel)]
    return lines


def _remedy(parts: list[RemedyPart]) -> list[str]:
    if not parts:
        return []
    lines = ["### What to change", ""]
    for part in parts:
        if part.side:
            lines += [f"**{escape(part.side)}**", ""]
            lines += [f"- {escape(sentence)}" for sentence in part.sentences] + [""]
        else:
            lines += [escape(" ".join(part.sentences)), ""]
    return lines


def _offers(columns: list[OfferColumn]) -> list[str]:
    if not columns:
        return []
    lines = ["### Offers", "", "| " + " | ".join(f"{escape(c.address)} ({escape(c.role)})" for c in columns) + " |",
             "|" + "---|" * len(columns)]
    for offers in zip_longest(*(column.offers for column in columns)):
        cells = ["-" if offer is None else
                 f"{escape(offer_heading(offer))}:<br>" + "<br>".join(f"`{escape(p)}`" for p in offer.proposals)
                 for offer in offers]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _diagram(tunnel: TunnelReport) -> list[str]:
    lines = ["### Sequence", "", f"Times from {utc(tunnel.diagram.start)}.", "", "```mermaid",
             mermaid(tunnel.diagram).rstrip("\n"), "```", ""]
    if tunnel.messages_left_out:
        lines += [f"{tunnel.messages_left_out} messages of this tunnel are left out of the report.", ""]
    return lines


def _attempts(tunnel: TunnelReport) -> list[str]:
    if not tunnel.diagnoses:
        return []
    lines = ["### Attempts", "", "| IKE SA | initiator → responder | outcome | code | confidence | exchanges |",
             "|---|---|---|---|---|---|"]
    for attempt in tunnel.diagnoses:
        lines.append(f"| {escape(attempt.ike_sa)} (IKEv{attempt.version}) | {escape(attempt.initiator)} → "
                     f"{escape(attempt.responder)} | {escape(attempt.outcome)} | {attempt.code} | "
                     f"{attempt.confidence} | {'<br>'.join(escape(line) for line in attempt.exchanges)} |")
    return [*lines, ""]


def _findings(tunnel: TunnelReport) -> list[str]:
    if not tunnel.findings:
        return []
    lines = ["### Findings", ""]
    lines += [f"- **{escape(f.kind)}** (frames {', '.join(map(str, f.frames))}): {escape(f.detail)}"
              for f in tunnel.findings]
    return [*lines, ""]
