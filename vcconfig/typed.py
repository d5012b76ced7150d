"""A dataclass tree built from plain YAML values, every value checked against its field's type hint.

The rules, the same for every key of both packages:
- a number is written as a number: a bool is not one, nor is the string `"3"`; an `int` key takes a
  whole float (`2.0`) and refuses `2.7`; a `float` key takes an int;
- a `bool` key takes only `true`/`false` (never `"yes"` or `1`); a `str` key only a string;
- a `Literal[...]` key takes only one of its choices;
- a number is never NaN or infinite (also inside free-form values such as a plug-in's `params`), and an
  `Annotated[..., Range(...)]` key stays inside its range;
- a mapping has only the dataclass's keys (a typo must not silently keep a default);
- a dataclass with a `from_config(value, where)` classmethod reads its own shorthand (`detector: hog`).
Every error is a ConfigError naming the dotted key (`rollout.group_size`, `variants[1].renderers[0]`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal

from vcconfig.errors import ConfigError
from vcconfig.ranges import Range


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _split_annotated(hint: Any) -> tuple[Any, Range | None]:
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        return base, next((e for e in extras if isinstance(e, Range)), None)
    return hint, None


def _number(value: Any, hint: type, where: str) -> int | float:
    found = type(value).__name__
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {found} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        return value  # the range check names it (NaN and infinities are outside every range)
    if hint is int:
        if not float(value).is_integer():
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def _check_range(value: int | float, rng: Range | None, where: str) -> None:
    if rng is None:
        rng = Range()
    if not rng.contains(value):
        finite = "" if math.isfinite(value) else " and finite"
        raise ConfigError(f"{where}: {value!r} is not allowed; must be {rng.describe()}{finite}")


def check_value(value: Any, hint: Any, where: str) -> Any:
    """`value` checked (and, for numbers, normalised to the hint's type) against a field's type hint."""
    hint, rng = _split_annotated(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _check_union(value, hint, where)
    if origin is Literal:
        return _check_choice(value, typing.get_args(hint), where)
    if hint in (int, float):
        number = _number(value, hint, where)
        _check_range(number, rng, where)
        return number
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        reader = getattr(hint, "from_config", None)
        return reader(value, where) if reader is not None else build(hint, value, where)
    if origin is list or hint is list:
        return _check_list(value, (typing.get_args(hint) or (Any,))[0], where)
    if origin is dict or hint is dict:
        return _check_dict(value, typing.get_args(hint) or (Any, Any), where)
    if hint in (str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    if hint is Any:
        _check_finite(value, where)
    return value


def _check_finite(value: Any, where: str) -> None:
    """No NaN or infinity anywhere inside a free-form value (a plug-in's `params`): no parameter means anything
    with one, and the plug-in would only fail later, or not at all."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: {value!r} is not allowed; must be finite")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, _join(where, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def _check_union(value: Any, hint: Any, where: str) -> Any:
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return check_value(value, arg, where)
        except ConfigError as exc:
            errors.append(str(exc))
    raise ConfigError(errors[-1] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")


def _check_choice(value: Any, choices: tuple[Any, ...], where: str) -> Any:
    if isinstance(value, bool) or value not in choices or type(value) is not type(choices[0]):
        raise ConfigError(f"{where}: {value!r} is not allowed; must be one of {', '.join(map(str, choices))}")
    return value


def _check_list(value: Any, item: Any, where: str) -> list[Any]:
    if value is None:  # `renderers:` left empty in YAML
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
    return [check_value(v, item, f"{where}[{i}]") for i, v in enumerate(value)]


def _check_dict(value: Any, args: tuple[Any, ...], where: str) -> dict[Any, Any]:
    if value is None:  # `params:` left empty in YAML
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected dict, got {type(value).__name__} {value!r}")
    key_hint, item = args
    out = {}
    for k, v in value.items():
        if key_hint is str and not isinstance(k, str):
            raise ConfigError(f"{where}: key {k!r} must be a string")
        out[k] = check_value(v, item, _join(where, str(k)))
    return out


def build(cls: type, data: Any, where: str = "") -> Any:
    """An instance of the dataclass `cls` from a mapping; unknown keys and wrong values raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(str(k) for k in set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {key: check_value(value, hints[key], _join(where, key)) for key, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"{where or 'config'}: {exc}") from exc


def numeric_fields_without_range(cls: type, where: str = "") -> list[str]:
    """Dotted keys of every int or float of the dataclass tree that has no Range (the tests want none)."""
    missing: list[str] = []
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        missing.extend(_unranged(hints[f.name], _join(where, f.name)))
    return missing


def _unranged(hint: Any, where: str) -> list[str]:
    base, rng = _split_annotated(hint)
    if base in (int, float):
        return [] if rng is not None else [where]
    if isinstance(base, type) and dataclasses.is_dataclass(base):
        return numeric_fields_without_range(base, where)
    return [m for arg in typing.get_args(base) for m in _unranged(arg, f"{where}[]")]
