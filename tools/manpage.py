#!/usr/bin/env python3
"""The man page `man/ikesniff.1` (troff), written from the click command definitions.

The options, their metavars and help texts, the usage line and the descriptions come from
`ikesniff.cli.main_command`, `ikesniff.cli.causes_command` and `ikesniff.explain_cli.explain_command`
as `--help` prints them; the examples are the command lines of README.md's "Use" section. Nothing about
an option is written here, so the page cannot say something the program does not do: a change of an
option shows up as a stale page in tests/test_install.py, and this script rewrites it.

The wheel installs the page as data under share/man/man1 (pyproject.toml), where man(1) finds it next
to a venv's bin/ on PATH, and where pipx links man pages from.

Usage: .venv/bin/python tools/manpage.py            rewrite man/ikesniff.1
       .venv/bin/python tools/manpage.py --check    exit 1 when man/ikesniff.1 is not what it would write
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ikesniff import __version__
from ikesniff.cli import causes_command, main_command
from ikesniff.explain_cli import explain_command

MAN_PAGE = REPO / "man" / "ikesniff.1"
SUBCOMMANDS = (("causes", causes_command), ("explain", explain_command))

EXIT_STATUS = (
    ("0", "every tunnel seen is healthy (explain: the logs show no failure)"),
    ("1", "a failure was diagnosed"),
    ("2", "bad usage, or an input that cannot be read (one line on standard error)"),
)
ENVIRONMENT = (
    ("NO_COLOR", "When set and not empty, no colour unless --color always asks for it (no-color.org)."),
    ("COLUMNS", "The width text is wrapped to (default: the terminal's width, 100 columns into a pipe or file)."),
    ("IKESNIFF_DEBUG", "When set, an internal error shows its Python traceback instead of one line."),
    ("_IKESNIFF_COMPLETE", ("Shell completion (click): bash_source, zsh_source or fish_source prints the "
                            "completion script for that shell, e.g. "
                            "eval \"$(_IKESNIFF_COMPLETE=bash_source ikesniff)\".")),
)
SEE_ALSO = "tcpdump(8), tshark(1), swanctl(8), ipsec.conf(5)"


def escape(text: str) -> str:
    """Text as troff reads it literally: backslashes escaped, no line taken as a request."""
    text = text.replace("\\", "\\e")
    lines = [("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n")]
    return "\n".join(lines)


def option_words(text: str) -> str:
    """Option names and metavars in bold/italic: '-r FILE' -> \\fB\\-r\\fR \\fIFILE\\fR."""
    words = []
    for word in text.split(" "):
        separator = "," if word.endswith(",") else ""
        word = word.rstrip(",")
        if word.startswith("-"):
            words.append("\\fB" + escape(word).replace("-", "\\-") + "\\fR" + separator)
        else:
            words.append("\\fI" + escape(word) + "\\fR" + separator)
    return " ".join(words)


def paragraphs(text: str) -> list[str]:
    """click's help text as paragraphs (blank-line separated, lines joined)."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in
              re.split(r"\n\s*\n", click.unstyle(text).strip())]
    return [block for block in blocks if block]


def options_section(command: click.Command, ctx: click.Context) -> list[str]:
    lines = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):
            continue                                   # in the usage line; click gives them no help text
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines += [".TP", option_words(names), escape(" ".join(help_text.split()))]
    return lines


def usage(name: str, command: click.Command, ctx: click.Context) -> list[str]:
    pieces = " ".join(command.collect_usage_pieces(ctx))
    return [".B " + name, escape(pieces).replace("-", "\\-"), ".br"]


def examples() -> list[str]:
    """The command lines of README.md's "Use" section (command, then its comment)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Use\n+```\n(.*?)\n```", readme, re.DOTALL | re.MULTILINE)
    if match is None:
        return []
    lines: list[str] = []
    for line in match.group(1).splitlines():
        command, _, comment = line.partition("  # ")
        if not command.strip():
            if lines and comment:
                lines[-1] += " " + escape(comment.strip())
            continue
        lines += [".TP", "\\fB" + escape(command.strip()).replace("-", "\\-") + "\\fR",
                  escape(comment.strip()) if comment else ""]
    return [line for line in lines if line != ""]


def man_page() -> str:
    contexts = {"": click.Context(main_command, info_name="ikesniff", **main_command.context_settings)}
    for name, command in SUBCOMMANDS:
        contexts[name] = click.Context(command, info_name=f"ikesniff {name}", **command.context_settings)
    main_ctx = contexts[""]
    first, *rest = paragraphs(main_command.help or "")
    out = [
        f'.TH IKESNIFF 1 "" "ikesniff {__version__}" "User Commands"',
        ".\\\" Written by tools/manpage.py from the command definitions; edit those, not this file.",
        ".SH NAME",
        "ikesniff \\- " + escape(first.rstrip(".")),
        ".SH SYNOPSIS",
        *usage("ikesniff", main_command, main_ctx),
    ]
    for name, command in SUBCOMMANDS:
        out += usage(f"ikesniff {name}", command, contexts[name])
    out += [".SH DESCRIPTION", escape(first)]
    for text in rest:
        out += [".PP", escape(text)]
    out += [".SH OPTIONS", *options_section(main_command, main_ctx)]
    out += [".SH COMMANDS"]
    for name, command in SUBCOMMANDS:
        ctx = contexts[name]
        out += [f".SS ikesniff {name} " + escape(" ".join(command.collect_usage_pieces(ctx)))]
        for index, text in enumerate(paragraphs(command.help or "")):
            out += ([] if index == 0 else [".PP"]) + [escape(text)]
        out += options_section(command, ctx)
    out += [".SH EXIT STATUS"]
    for code, meaning in EXIT_STATUS:
        out += [".TP", f".B {code}", escape(meaning)]
    out += [".SH ENVIRONMENT"]
    for name, meaning in ENVIRONMENT:
        out += [".TP", f".B {name}", escape(meaning)]
    example_lines = examples()
    if example_lines:
        out += [".SH EXAMPLES", *example_lines]
    out += [".SH SEE ALSO", escape(SEE_ALSO)]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is out of date")
    parser.add_argument("--output", type=Path, default=MAN_PAGE)
    args = parser.parse_args()
    text = man_page()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run .venv/bin/python tools/manpage.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
