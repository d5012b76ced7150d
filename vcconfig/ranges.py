"""Ranges of numeric config keys, written into the field's type: `Annotated[int, Range(ge=1, le=4096)]`."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Allowed interval of one numeric key. Bounds left as None are open-ended; NaN and the infinities
    are outside every range (a number that is not finite never means anything in a config)."""

    ge: float | None = None
    """Smallest allowed value (inclusive)."""
    gt: float | None = None
    """Values must be strictly above this."""
    le: float | None = None
    """Largest allowed value (inclusive)."""
    lt: float | None = None
    """Values must be strictly below this."""
    note: str = ""
    """What a special value means, shown in the error (`0: off`)."""

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )

    def describe(self) -> str:
        """`in [1, 4096]`, `> 0`, `>= 0 (0: off)`: the words of the error message."""
        low = ("[", self.ge) if self.ge is not None else ("(", self.gt) if self.gt is not None else None
        high = ("]", self.le) if self.le is not None else (")", self.lt) if self.lt is not None else None
        if low and high:
            text = f"in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}"
        elif low:
            text = f"{'>=' if low[0] == '[' else '>'} {_num(low[1])}"
        elif high:
            text = f"{'<=' if high[0] == ']' else '<'} {_num(high[1])}"
        else:
            text = "a finite number"
        return f"{text} ({self.note})" if self.note else text


def _num(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value or 0)}"
