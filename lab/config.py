"""Turn nested dicts into strongSwan's settings syntax (strongswan.conf, swanctl.conf).

Both files share one grammar: ``name { key = value ... }``. The scenario table
describes configuration as dicts; this module is the only place that knows the
text form. It knows nothing about namespaces or processes.
"""

from __future__ import annotations

import copy
from typing import Any


def render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(render_value(item) for item in value)
    text = str(value)
    if text == "" or any(ch in text for ch in '{}#"\n') or text != text.strip():
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render(settings: dict[str, Any], indent: int = 0) -> str:
    pad = "    " * indent
    lines: list[str] = []
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, dict):
            lines.append(f"{pad}{key} {{")
            body = render(value, indent + 1)
            if body:
                lines.append(body)
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{key} = {render_value(value)}")
    return "\n".join(lines)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base``.

    Keys may be dotted paths (``"children.net.esp_proposals"``); a value of
    ``None`` removes the key, so a scenario can take a setting away.
    """
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        path = key.split(".")
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        leaf = path[-1]
        if value is None:
            node.pop(leaf, None)
        elif isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = merge(node[leaf], value)
        else:
            node[leaf] = copy.deepcopy(value)
    return result


def get(settings: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = settings
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
