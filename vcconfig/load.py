"""Reading a config file that may come from someone else: bounded in size, alias expansion and nesting.

PyYAML's safe loader never runs code, but a 1 kB file of nested aliases ("billion laughs") expands to
billions of values once anything walks it, and an alias inside its own anchor is a cycle that every
walker follows forever. Here the document is composed to its node graph first (linear in the file),
its expanded size is counted with the shared nodes counted each time they are used, and only a bounded,
acyclic graph is turned into Python values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from vcconfig.errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000
"""A recipe or training config is a few kB; a larger file is refused before it is read."""
MAX_CONFIG_NODES = 100_000
"""Values in the document once every alias is expanded (the shipped configs hold a few hundred)."""
MAX_CONFIG_DEPTH = 64
"""Collections nested in one another (the shipped configs nest four deep)."""


class _Loader(yaml.SafeLoader):
    """The safe loader with YAML 1.2's plain scalars where YAML 1.1 surprises: `1e-6` is a number (1.1 wants
    `1.0e-6` and reads "1e-6" as text), and only true/false are booleans (1.1 also reads yes, no, on, off,
    so a `no` meant as text became False); a bool key given `yes` is then refused by name."""


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expanded_nodes(root: yaml.Node, where: str, limit: int = MAX_CONFIG_NODES) -> int:
    """Values the document holds once aliases are expanded; ConfigError on a cycle or above `limit`.

    Iterative (a deep document must not hit Python's recursion limit) and memoised per node, so the
    count costs one visit per node of the file, however far the aliases would expand.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()  # nodes whose subtree is being counted: the ancestors of what is popped next
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            if sizes[key] > limit:
                raise ConfigError(f"{where}: more than {limit} values once its aliases are expanded "
                                  f"(line {node.start_mark.line + 1}); a config needs far fewer")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError(f"{where}: line {node.start_mark.line + 1}: an alias refers to the anchor it is inside "
                              "(a recursive alias has no finite value)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def check_depth(text: str, where: str, limit: int = MAX_CONFIG_DEPTH) -> None:
    """ConfigError when collections nest deeper than `limit`. Read from the parser's events, which PyYAML
    produces without recursion, before the composer, which recurses once per level."""
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > limit:
                    raise ConfigError(f"{where}: line {event.start_mark.line + 1}: nested too deeply "
                                      f"(more than {limit} levels)")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def load_yaml_text(text: str, where: str) -> Any:
    """The document's value, or ConfigError naming `where`: not YAML, larger than MAX_CONFIG_BYTES, nested deeper
    than MAX_CONFIG_DEPTH, or expanding past MAX_CONFIG_NODES values (a recursive alias never ends: refused)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES} bytes; a config is a few kB")
    loader = _Loader(text)
    try:
        check_depth(text, where)
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_nodes(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
    except RecursionError as exc:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{where}: nested too deeply to read") from exc
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path, what: str = "config file") -> Any:
    """`load_yaml_text` of a file, its size checked before a byte is read."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size} bytes is larger than {MAX_CONFIG_BYTES}; a config is a few kB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return load_yaml_text(text, str(path))
