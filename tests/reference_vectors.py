"""Shared helpers of the hand-written reference vectors (tests/test_reference_*.py).

Each vector is an input and the value the reference function returns on it, derived by hand from the reference's
code (never by running or copying it); its comment names the reference file and line that decides it. `default` is
what this toolkit's default convention returns: the same value where the reference is sound, and a documented
difference (README pitfalls table, data_cards/CONVENTIONS.md) where it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SAME = object()
"""Marker: the default convention returns the reference's value."""
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Vector:
    """One input of a reward (completion, ground truth, keyword switches) and the reference's value on it."""

    completion: str
    gt: Any
    reference: float
    default: Any = SAME
    params: tuple[tuple[str, Any], ...] = ()
    progress: float = 0.0

    @property
    def default_value(self) -> float:
        return self.reference if self.default is SAME else float(self.default)


def think_answer(answer: str, think: str = "x") -> str:
    """A completion with one reasoning block and one answer block."""
    return f"<think>{think}</think><answer>{answer}</answer>"
