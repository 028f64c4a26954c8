"""What a terminal asks of the text outputs: whether to colour (`--color`, NO_COLOR), which colour an
outcome gets, and the width text is wrapped to (never inside a word or an address).

Knows nothing of captures, diagnosis or events; it styles and wraps strings.
"""

from __future__ import annotations

import os
import re
import textwrap
from typing import TextIO

import click

OUTCOME_COLOUR: dict[str, str] = {"FAILED": "red", "ESTABLISHED": "green", "TORN_DOWN": "yellow",
                                  "INCOMPLETE": "yellow"}
"""The colour of an outcome as the headlines write it (upper case)."""
OUTCOME_WORD = re.compile(r"\b(" + "|".join(OUTCOME_COLOUR) + r")\b")
PIPE_WIDTH = 100
"""Width text is wrapped to when standard output is no terminal and COLUMNS is not set."""
NARROWEST = 40


def use_colour(choice: str, stream: TextIO) -> bool:
    """`--color`: always, never, or auto (a terminal, and NO_COLOR unset or empty, as no-color.org asks)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def colour_outcomes(text: str, colour: bool) -> str:
    """Every outcome word of `text` (FAILED, ESTABLISHED, TORN_DOWN, INCOMPLETE) in its colour, bold."""
    if not colour:
        return text
    return OUTCOME_WORD.sub(lambda match: click.style(match.group(1), fg=OUTCOME_COLOUR[match.group(1)],
                                                      bold=True), text)


def width(stream: TextIO | None = None) -> int:
    """Columns to wrap to: COLUMNS when set, else the terminal's width, else PIPE_WIDTH (a pipe or file)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(NARROWEST, int(os.environ["COLUMNS"]))
    try:
        if stream is not None and stream.isatty():
            return max(NARROWEST, os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, ValueError, OSError):
        pass
    return PIPE_WIDTH


def wrapper(columns: int, indent: str = "  ", hanging: str = "    ") -> textwrap.TextWrapper:
    """Wraps at spaces only: a word, an address or a path longer than the line stays whole."""
    return textwrap.TextWrapper(columns, initial_indent=indent, subsequent_indent=hanging,
                                break_on_hyphens=False, break_long_words=False)
