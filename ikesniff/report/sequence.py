"""The sequence diagram of a tunnel: two lanes (the initiator of its first attempt on the left), one
arrow per IKE message, retransmissions and error notifies marked, the verdict at the bottom.

`build_diagram` turns messages into a `Diagram`; `mermaid` and `svg` draw it (the SVG by hand, no
library, nothing fetched). Knows nothing of files or of the rest of the report.
"""

from __future__ import annotations

from html import escape

from ..events import DiagnosisEvent, LogEvidence, MessageEvent, VerdictEvent
from ..tracker import host
from .model import Arrow, Diagram, Gap, Lane, LogNote

ARROWS = 60
"""Arrows drawn per tunnel at most: the first and the last half, the number left out between."""
TELLING = {"COOKIE", "R_U_THERE", "R_U_THERE_ACK", "REKEY_SA", "REDIRECT", "INVALID_KE_PAYLOAD"}
"""Status notifies worth a note on the arrow (error notifies always get one)."""


def lanes(verdict: VerdictEvent, attempts: list[DiagnosisEvent],
          messages: list[MessageEvent]) -> tuple[Lane, Lane]:
    """Left: the initiator of the tunnel's first attempt; right: the other peer. Each lane says which
    role its gateway had over the attempts."""
    peers = list(verdict.peers) or sorted({messages[0].src, messages[0].dst} if messages else {"?"})
    first = attempts[0].initiator if attempts else ""
    left = next((peer for peer in peers if _address(first) == peer), peers[0])
    right = next((peer for peer in peers if peer != left), "?")
    return Lane(left, _role(left, attempts)), Lane(right, _role(right, attempts))


def _address(endpoint: str) -> str:
    return host(endpoint)


def _role(address: str, attempts: list[DiagnosisEvent]) -> str:
    roles = set()
    for attempt in attempts:
        if _address(attempt.initiator) == address:
            roles.add("initiator")
        if _address(attempt.responder) == address:
            roles.add("responder")
    return " and ".join(sorted(roles)) or "peer"


def build_diagram(left: Lane, right: Lane, rows: list[MessageEvent | Gap], verdict: VerdictEvent) -> Diagram:
    messages = [row for row in rows if isinstance(row, MessageEvent)]
    start = messages[0].time if messages else 0.0  # the first in capture order (a merged capture may go back)
    arrows: list[Arrow | Gap | LogNote] = [row if isinstance(row, Gap) else _arrow(row, start, left, right)
                                           for row in _capped(rows)]
    arrows = _with_log_notes(arrows, verdict, start, left, right)
    also = f"; also possible: {', '.join(verdict.alternatives)}" if verdict.alternatives else ""
    text = f"{verdict.outcome.upper().replace('_', ' ')} {verdict.code} ({verdict.confidence}{also})"
    return Diagram(left, right, start, arrows, verdict.outcome, text)


def _with_log_notes(rows: list[Arrow | Gap | LogNote], verdict: VerdictEvent, start: float, left: Lane,
                    right: Lane) -> list[Arrow | Gap | LogNote]:
    """The verdict's gateway log lines (`--log`) placed among the arrows at their time."""
    notes = sorted((LogNote(item.time - start, "left" if item.gateway == left.address else
                            "right" if item.gateway == right.address else "", f"{item.file}:{item.line}", item.why)
                    for item in verdict.evidence if isinstance(item, LogEvidence) and item.time is not None),
                   key=lambda note: note.offset)
    result: list[Arrow | Gap | LogNote] = []
    for row in rows:
        while notes and isinstance(row, Arrow) and notes[0].offset < row.offset:
            result.append(notes.pop(0))
        result.append(row)
    return result + notes


def _capped(rows: list[MessageEvent | Gap]) -> list[MessageEvent | Gap]:
    """At most ARROWS messages: the first and last half, one Gap counting everything between."""
    positions = [index for index, row in enumerate(rows) if isinstance(row, MessageEvent)]
    if len(positions) <= ARROWS:
        return _merged(rows)
    head_end = positions[ARROWS // 2 - 1] + 1
    tail_start = positions[len(positions) - (ARROWS - ARROWS // 2)]
    between = rows[head_end:tail_start]
    count = sum(row.count if isinstance(row, Gap) else 1 for row in between)
    return _merged([*rows[:head_end], Gap(count), *rows[tail_start:]])


def _merged(rows: list[MessageEvent | Gap]) -> list[MessageEvent | Gap]:
    """Neighbouring gaps as one."""
    merged: list[MessageEvent | Gap] = []
    for row in rows:
        if isinstance(row, Gap) and merged and isinstance(merged[-1], Gap):
            merged[-1] = Gap(merged[-1].count + row.count)
        else:
            merged.append(row)
    return merged


def _arrow(message: MessageEvent, start: float, left: Lane, right: Lane) -> Arrow:
    if message.src in (left.address, right.address):
        rightward = message.src == left.address
    elif message.dst in (left.address, right.address):
        rightward = message.dst == right.address
    else:
        rightward = message.initiator
    errors = [ref.type for ref in message.notifies if ref.code < 16384]
    notes = errors + [ref.type for ref in message.notifies if ref.type in TELLING and ref.type not in errors]
    if any(name.rsplit(":", 1)[-1] == "D" for name in message.payloads):
        notes.append("Delete")
    if message.errors:
        notes.append("malformed")
    label = f"{message.exchange} #{message.message_id} {'response' if message.response else 'request'}"
    return Arrow(message.frame, message.time - start, rightward, label, notes, message.response,
                 message.retransmission, bool(errors))


# --- Mermaid ------------------------------------------------------------------------------------------

def mermaid(diagram: Diagram) -> str:
    """A Mermaid `sequenceDiagram` (participants L and R; text escaped with Mermaid's entity codes)."""
    lines = ["sequenceDiagram",
             f"    participant L as {_mermaid_name(diagram.left)}",
             f"    participant R as {_mermaid_name(diagram.right)}"]
    for row in diagram.rows:
        if isinstance(row, Gap):
            lines.append(f"    Note over L,R: {row.count} messages left out")
            continue
        if isinstance(row, LogNote):
            where = {"left": "left of L", "right": "right of R"}.get(row.side, "over L,R")
            lines.append(f"    Note {where}: {mermaid_text(f'{row.offset:+.3f} s, {row.source}: {row.text}')}")
            continue
        sender, receiver = ("L", "R") if row.rightward else ("R", "L")
        lines.append(f"    {sender}{_mermaid_arrow(row)}{receiver}: {mermaid_text(_arrow_text(row))}")
    lines.append(f"    Note over L,R: {mermaid_text(diagram.verdict)}")
    return "\n".join(lines) + "\n"


def _mermaid_name(lane: Lane) -> str:
    """A participant's shown name: no '#', ';' or line break (they would end the declaration)."""
    return " ".join(f"{lane.address} ({lane.role})".replace("#", " ").replace(";", " ").split())


def _mermaid_arrow(arrow: Arrow) -> str:
    dotted = "--" if arrow.response else "-"
    if arrow.failure:
        return dotted + "x"
    if arrow.retransmission:
        return dotted + ")"
    return dotted + ">>"


def _arrow_text(arrow: Arrow) -> str:
    text = f"frame {arrow.frame}, {arrow.offset:+.3f} s: {arrow.label}"
    if arrow.notes:
        text += f" [{', '.join(arrow.notes)}]"
    return text + " (retransmission)" if arrow.retransmission else text


MERMAID_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "\n": " ", "\r": " "}


def mermaid_text(text: str) -> str:
    """Text safe after a Mermaid message's ':' (Mermaid reads '#...;' as an entity code)."""
    return "".join(MERMAID_ENTITIES.get(char, char) for char in text)


# --- SVG ----------------------------------------------------------------------------------------------

WIDTH = 960
LEFT_X, RIGHT_X = 260, 840
HEAD = 78
ROW = 48
FOOT = 64
COLOURS = {"request": "#1f2937", "response": "#2563eb", "retransmission": "#d97706", "failure": "#dc2626"}
OUTCOME_COLOURS = {"established": ("#dcfce7", "#166534"), "failed": ("#fee2e2", "#991b1b"),
                   "torn_down": ("#ffedd5", "#9a3412"), "incomplete": ("#f3f4f6", "#374151")}


def svg(diagram: Diagram, ident: str) -> str:
    """The diagram as an inline <svg>; `ident` makes its marker ids unique in the page."""
    height = HEAD + ROW * len(diagram.rows) + FOOT
    parts = [(f'<svg class="sequence" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="IKE message sequence">'),
             _markers(ident), *_lane_heads(diagram, height)]
    y = HEAD
    for row in diagram.rows:
        if isinstance(row, LogNote):
            parts.extend(_svg_note(row, y))
        else:
            parts.extend(_gap(row, y) if isinstance(row, Gap) else _svg_arrow(row, y, ident))
        y += ROW
    parts.extend(_footer(diagram, y))
    parts.append("</svg>")
    return "\n".join(parts)


def _markers(ident: str) -> str:
    markers = "".join(
        f'<marker id="{ident}-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="11" '
        f'markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for kind, colour in COLOURS.items())
    return f"<defs>{markers}</defs>"


def _lane_heads(diagram: Diagram, height: int) -> list[str]:
    parts = []
    for lane, x in ((diagram.left, LEFT_X), (diagram.right, RIGHT_X)):
        parts.append(f'<line x1="{x}" y1="{HEAD - 24}" x2="{x}" y2="{height - FOOT + 8}" stroke="#9ca3af" '
                     f'stroke-width="1.5"/>')
        parts.append(f'<rect x="{x - 110}" y="6" width="220" height="46" rx="6" fill="#f9fafb" '
                     f'stroke="#6b7280"/>')
        parts.append(f'<text x="{x}" y="26" text-anchor="middle" font-weight="600" font-size="14">'
                     f'{escape(lane.address)}</text>')
        parts.append(f'<text x="{x}" y="44" text-anchor="middle" font-size="12" fill="#4b5563">'
                     f'{escape(lane.role)}</text>')
    parts.append('<text x="8" y="68" font-size="11" fill="#6b7280">time, frame</text>')
    return parts


def _kind(arrow: Arrow) -> str:
    if arrow.failure:
        return "failure"
    if arrow.retransmission:
        return "retransmission"
    return "response" if arrow.response else "request"


def _svg_arrow(arrow: Arrow, top: int, ident: str) -> list[str]:
    kind = _kind(arrow)
    colour = COLOURS[kind]
    y = top + 26
    start, end = (LEFT_X, RIGHT_X) if arrow.rightward else (RIGHT_X, LEFT_X)
    end += -4 if arrow.rightward else 4
    dash = ' stroke-dasharray="7 5"' if arrow.retransmission else ""
    width = "2.5" if arrow.failure else "1.6"
    label = arrow.label + (" (retransmission)" if arrow.retransmission else "")
    parts = [f'<text x="8" y="{y - 4}" font-size="12" fill="#374151">{arrow.offset:+.3f} s</text>',
             f'<text x="8" y="{y + 11}" font-size="11" fill="#6b7280">frame {arrow.frame}</text>',
             (f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" stroke-width="{width}"{dash} '
             f'marker-end="url(#{ident}-{kind})"/>'),
             (f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y - 7}" text-anchor="middle" font-size="13" '
             f'fill="{colour}">{escape(label)}</text>')]
    if arrow.notes:
        weight = ' font-weight="700"' if arrow.failure else ""
        parts.append(f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y + 17}" text-anchor="middle" font-size="12" '
                     f'fill="{COLOURS["failure"] if arrow.failure else "#4b5563"}"{weight}>'
                     f'{escape(", ".join(arrow.notes))}</text>')
    return parts


def _svg_note(note: LogNote, top: int) -> list[str]:
    """A log line: a note box at the lane of the gateway that wrote it (across both lanes if unknown)."""
    y = top + ROW // 2
    room = 56 if note.side else 100
    text = note.text if len(note.text) <= room else note.text[:room - 1] + "…"
    x, width = {"left": (LEFT_X - 10, 330), "right": (RIGHT_X - 320, 330)}.get(note.side, (LEFT_X, RIGHT_X - LEFT_X))
    return [f'<text x="8" y="{y - 4}" font-size="12" fill="#374151">{note.offset:+.3f} s</text>',
            f'<text x="8" y="{y + 11}" font-size="11" fill="#7c3aed">{escape(note.source.rsplit("/", 1)[-1])}</text>',
            (f'<rect x="{x}" y="{y - 16}" width="{width}" height="32" rx="4" fill="#f5f3ff" stroke="#7c3aed"/>'),
            (f'<text x="{x + width // 2}" y="{y + 4}" text-anchor="middle" font-size="11" fill="#5b21b6">'
             f'{escape(text)}</text>')]


def _gap(gap: Gap, top: int) -> list[str]:
    y = top + ROW // 2
    return [f'<rect x="{LEFT_X - 20}" y="{y - 12}" width="{RIGHT_X - LEFT_X + 40}" height="24" fill="#ffffff"/>',
            (f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y + 4}" text-anchor="middle" font-size="12" '
            f'font-style="italic" fill="#6b7280">… {gap.count} messages left out …</text>')]


def _footer(diagram: Diagram, top: int) -> list[str]:
    background, colour = OUTCOME_COLOURS.get(diagram.outcome, OUTCOME_COLOURS["incomplete"])
    return [(f'<rect x="{LEFT_X - 110}" y="{top + 14}" width="{RIGHT_X - LEFT_X + 220}" height="36" rx="6" '
            f'fill="{background}" stroke="{colour}"/>'),
            (f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{top + 37}" text-anchor="middle" font-size="14" '
            f'font-weight="700" fill="{colour}">{escape(diagram.verdict)}</text>')]
