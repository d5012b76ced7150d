"""What a plug-in takes, read off its own code: the constructor's signature and its docstring.

`vcprep plugins` prints this for every registered detector, tracker, renderer and source, so the
parameters a recipe may set under `params:` are listed from the code that reads them and cannot
drift from it. Parameter descriptions come from a Google-style `Args:` block (in the class or in
`__init__`'s docstring), the style of both this project and the Roboflow trackers it wraps.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_ARG_LINE = re.compile(r"^(\s*)(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class ParamDoc:
    """One keyword a plug-in takes."""

    name: str
    default: str
    """`repr` of the default; empty when the parameter is required."""
    annotation: str
    description: str


@dataclass(frozen=True)
class PluginDoc:
    """One registered plug-in: its name, where it lives, what it does and what it takes."""

    kind: str
    name: str
    implementation: str
    """`module:Class` of the code that does the work."""
    summary: str
    """The first paragraph of its docstring."""
    params: tuple[ParamDoc, ...]
    unavailable: str = ""
    """Why its code could not be imported here (a missing extra), else empty."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "implementation": self.implementation, "summary": self.summary,
            "params": [vars(p) for p in self.params], "unavailable": self.unavailable,
        }  # fmt: skip


def args_section(doc: str | None) -> dict[str, str]:
    """Parameter descriptions of a Google-style `Args:` block, continuation lines joined."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(doc or "").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:", "Parameters:"))
    except StopIteration:
        return out
    entry_indent: int | None = None
    current = ""
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if entry_indent is None and match:
            entry_indent = indent
        if entry_indent is None or indent < entry_indent:
            break  # the block ended (a dedented section such as `Returns:`)
        if indent == entry_indent and match:
            current = match.group(2).lstrip("*")
            out[current] = match.group(3).strip()
        elif current:
            out[current] = f"{out[current]} {line.strip()}".strip()
    return out


def summary_of(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    paragraph = inspect.cleandoc(doc or "").split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _param_docs(obj: Callable[..., Any]) -> dict[str, str]:
    """`Args:` of the class and its `__init__`, base classes first, so a subclass documents only what it adds
    (a renderer inherits `hint` and `key_frames_only` from its base)."""
    docs: dict[str, str] = {}
    for cls in reversed(inspect.getmro(obj)) if inspect.isclass(obj) else [obj]:
        docs.update(args_section(cls.__doc__))
        init = vars(cls).get("__init__") if inspect.isclass(cls) else None
        docs.update(args_section(getattr(init, "__doc__", None)))
    return docs


def _annotation(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def describe(kind: str, name: str, implementation: str, obj: Callable[..., Any]) -> PluginDoc:
    """Read `obj` (a class or a function) into a PluginDoc; its summary is its docstring's first paragraph, else its
    module's."""
    target = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
    docs = _param_docs(obj)
    params = []
    for p in inspect.signature(target).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = "" if p.default is p.empty else repr(p.default)
        params.append(ParamDoc(p.name, default, _annotation(p.annotation), docs.get(p.name, "")))
    module = inspect.getmodule(obj)
    summary = summary_of(obj.__doc__) or summary_of(module.__doc__ if module else None)
    return PluginDoc(kind, name, implementation, summary, tuple(params))


def format_docs(docs: list[PluginDoc], width: int = 100) -> str:
    """Plain text for a terminal: one block per plug-in, one line per parameter with its default and description."""
    lines: list[str] = []
    kind = ""
    for doc in docs:
        if doc.kind != kind:
            kind = doc.kind
            lines += ["", f"{kind}s".upper()] if lines else [f"{kind}s".upper()]
        lines.append(f"  {doc.name}  ({doc.implementation})")
        lines += textwrap.wrap(
            doc.summary, width, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False
        )
        if doc.unavailable:
            lines.append(f"    not importable here: {doc.unavailable}")
        for p in doc.params:
            head = f"{p.name}: {p.annotation}" if p.annotation else p.name
            head += f" = {p.default}" if p.default else " (required)"
            lines.append(f"    - {head}")
            lines += textwrap.wrap(
                p.description, width, initial_indent="        ", subsequent_indent="        ", break_on_hyphens=False
            )
    return "\n".join(lines)
