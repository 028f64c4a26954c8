"""The report as one self-contained HTML page: inline CSS, inline SVG diagrams, system fonts, no script,
nothing fetched. Every text from the events goes through html.escape."""

from __future__ import annotations

from html import escape

from ..events import FindingEvent
from ..output import plural
from .model import OfferColumn, RemedyPart, Report, TunnelReport
from .sequence import svg
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

STYLE = """
:root { color-scheme: light; }
body { margin: 0; background: #f3f4f6; color: #111827;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
  "Liberation Sans", sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 20px 24px 40px; background: #ffffff; }
h1 { font-size: 24px; margin: 0 0 12px; }
h2 { font-size: 20px; margin: 34px 0 12px; padding-top: 14px; border-top: 2px solid #e5e7eb; }
h3 { font-size: 16px; margin: 22px 0 8px; color: #1f2937; }
h4 { font-size: 14px; margin: 0 0 6px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; }
th { background: #f9fafb; font-weight: 600; }
td.frame { font-weight: 700; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.meta, .note { color: #4b5563; font-size: 13px; }
.verdict { border-left: 8px solid; border-radius: 6px; padding: 12px 16px; margin: 8px 0 4px; }
.verdict .headline { font-size: 20px; font-weight: 700; }
.verdict .facts { font-size: 14px; margin-top: 2px; }
.verdict p { margin: 8px 0 0; }
.established { background: #dcfce7; border-color: #16a34a; color: #14532d; }
.failed { background: #fee2e2; border-color: #dc2626; color: #7f1d1d; }
.torn_down { background: #ffedd5; border-color: #ea580c; color: #7c2d12; }
.incomplete { background: #f3f4f6; border-color: #6b7280; color: #1f2937; }
.columns { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.columns > div { flex: 1 1 300px; border: 1px solid #d1d5db; border-radius: 6px; padding: 10px 12px; }
.columns ul { margin: 4px 0 8px; padding-left: 20px; }
.offer { margin-bottom: 8px; }
.offer .what { font-size: 13px; color: #4b5563; }
.diagram { overflow-x: auto; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
table.summary, table.inputs { width: auto; min-width: 360px; }
table.summary th, table.inputs th { padding-right: 40px; white-space: nowrap; }
table.inputs { margin-bottom: 8px; }
table.inputs td { word-break: break-all; }
svg.sequence { display: block; max-width: 100%; height: auto; font-family: inherit; }
@media print { body { background: #ffffff; } main { max-width: none; } h2 { break-before: page; } }
"""


def render(report: Report) -> str:
    title = "; ".join(f"{tunnel_title(t.verdict)} {outcome(t.verdict)} {t.verdict.code}" for t in report.tunnels)
    body = [_header(report)]
    body += [_tunnel(tunnel, index, len(report.inputs) > 1) for index, tunnel in enumerate(report.tunnels, 1)]
    if not report.tunnels:
        body.append(f"<p class=\"verdict incomplete\">{escape(NO_TUNNEL)}</p>")
    if report.other_findings:
        body.append("<section><h2>Findings outside the tunnels</h2>" + _finding_list(report.other_findings)
                    + "</section>")
    if report.decrypted:
        body.append("<section><h2>Decrypted payloads</h2>" + "".join(
            f"<h3>Frame {row.frame}: {escape(row.title)}</h3><pre>{escape(chr(10).join(row.lines))}</pre>"
            for row in report.decrypted) + "</section>")
    body.append(_summary(report))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>ikesniff report: {escape(title or 'no tunnel seen')}</title>\n<style>{STYLE}</style>\n"
            "</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _header(report: Report) -> str:
    tables = "".join(
        f"<table class=\"inputs\"><tr><th>input</th><td class=\"mono\">{escape(item.name)}</td></tr>"
        f"<tr><th>SHA-256</th><td class=\"mono\">{escape(item.sha256) if item.sha256 else '- (stream)'}</td></tr>"
        f"<tr><th>size</th><td>{escape(size(item.size))}</td></tr>"
        f"<tr><th>IKE traffic</th><td>{escape(span_text(span_of(report.spans, report.inputs, item)))}</td></tr>"
        "</table>" for item in report.inputs)
    return (f"<header><h1>ikesniff report</h1>{tables}"
            f"<p class=\"meta\">ikesniff {escape(report.version)} · {plural(len(report.tunnels), 'tunnel')}</p></header>")


def _tunnel(tunnel: TunnelReport, index: int, several_inputs: bool) -> str:
    verdict = tunnel.verdict
    parts = [f"<section class=\"tunnel\" id=\"tunnel-{index}\">",
             f"<h2>Tunnel {escape(tunnel_title(verdict))}</h2>",
             (f"<div class=\"verdict {escape(verdict.outcome)}\"><div class=\"headline\">{escape(outcome(verdict))} "
             f"<span class=\"code\">{escape(verdict.code)}</span></div>"
             f"<div class=\"facts\">{escape(' · '.join(verdict_facts(verdict)))}</div>"
             f"<p>{escape(verdict.message)}</p></div>")]
    if several_inputs and verdict.file:
        parts.append(f"<p class=\"note\">Frame numbers are those of {escape(verdict.file)}.</p>")
    parts += [_remedy(tunnel.remedy), _evidence(tunnel), _offers(tunnel.offers), _diagram(tunnel, index),
              _attempts(tunnel)]
    if tunnel.findings:
        parts.append("<h3>Findings</h3>" + _finding_list(tunnel.findings))
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _remedy(parts: list[RemedyPart]) -> str:
    if not parts:
        return ""
    if len(parts) == 1 and not parts[0].side:
        return f"<h3>What to change</h3><p>{escape(' '.join(parts[0].sentences))}</p>"
    columns = "".join(f"<div><h4>{escape(part.side)}</h4><ul>"
                      + "".join(f"<li>{escape(sentence)}</li>" for sentence in part.sentences) + "</ul></div>"
                      for part in parts)
    return f"<h3>What to change</h3><div class=\"columns remedy\">{columns}</div>"


def _evidence(tunnel: TunnelReport) -> str:
    rows = "".join(
        f"<tr><td class=\"frame\">{escape(row.source) if row.source else row.frame}</td>"
        f"<td class=\"nowrap\">{escape(utc(row.time, date=False)) if row.time is not None else '-'}</td>"
        f"<td>{escape(row.direction) or '-'}</td><td>{escape(row.exchange) or '-'}</td>"
        f"<td>{escape(row.why)}</td></tr>" for row in tunnel.evidence)
    return ("<h3>Evidence</h3><table class=\"evidence\"><tr><th>frame</th><th>time (UTC)</th><th>direction</th>"
            f"<th>exchange</th><th>what it shows</th></tr>{rows}</table>")


def _offers(columns: list[OfferColumn]) -> str:
    if not columns:
        return ""
    html = "".join(
        f"<div><h4>{escape(column.address)} ({escape(column.role)})</h4>"
        + ("".join(f"<div class=\"offer\"><div class=\"what\">{escape(offer_heading(offer))}</div><ul>"
                   + "".join(f"<li><code>{escape(text)}</code></li>" for text in offer.proposals) + "</ul></div>"
                   for offer in column.offers) or "<p class=\"note\">nothing seen in clear</p>")
        + "</div>" for column in columns)
    return f"<h3>Offers</h3><div class=\"columns offers\">{html}</div>"


def _diagram(tunnel: TunnelReport, index: int) -> str:
    left_out = (f" {tunnel.messages_left_out} messages of this tunnel are left out of the report."
                if tunnel.messages_left_out else "")
    return (f"<h3>Sequence</h3><p class=\"note\">Times from {escape(utc(tunnel.diagram.start))}; dashed orange: "
            f"retransmission; red: error notify.{escape(left_out)}</p>"
            f"<div class=\"diagram\">{svg(tunnel.diagram, f'tunnel{index}')}</div>")


def _attempts(tunnel: TunnelReport) -> str:
    if not tunnel.diagnoses:
        return ""
    rows = "".join(
        f"<tr><td class=\"mono\">{escape(a.ike_sa)} (IKEv{a.version})</td>"
        f"<td>{escape(a.initiator)} → {escape(a.responder)}</td><td>{escape(a.outcome)}</td>"
        f"<td>{escape(a.code)}</td><td>{escape(a.confidence)}</td>"
        f"<td>{'<br>'.join(escape(line) for line in a.exchanges)}</td></tr>" for a in tunnel.diagnoses)
    return ("<h3>Attempts</h3><table class=\"attempts\"><tr><th>IKE SA</th><th>initiator → responder</th>"
            f"<th>outcome</th><th>code</th><th>confidence</th><th>exchanges</th></tr>{rows}</table>")


def _finding_list(findings: list[FindingEvent]) -> str:
    items = "".join(f"<li><b>{escape(f.kind)}</b> (frames {escape(', '.join(map(str, f.frames)))}): "
                    f"{escape(f.detail)}</li>" for f in findings)
    return f"<ul class=\"findings\">{items}</ul>"


def _summary(report: Report) -> str:
    rows = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
                   for name, value in summary_rows(report.summary))
    note = left_out_note(report)
    return (f"<section><h2>Summary</h2><table class=\"summary\">{rows}</table>"
            + (f"<p class=\"note\">{escape(note)}</p>" if note else "") + "</section>")
