"""One switch per source: `convention` picks every behaviour of one reference implementation at once.

- `default`: this toolkit's sound behaviour; identical to the references wherever they are sound, every deliberate
  difference listed in the README's pitfalls table and in data_cards/CONVENTIONS.md.
- `stvg_r1`: STVG-R1 (`src/open_r1/grpo_video.py` rewards, `evaluate.py` metrics).
- `visioncoach`: VisionCoach (`src/r1-v/src/open_r1/reward_func.py`).
- `time_r1`: Time-R1 (`main.py` rewards).
- `tubedetr`: TubeDETR (`datasets/hcstvg_eval.py` metrics).

Each reward keeps a table {convention: options dataclass}; a source with no opinion on a reward maps to the default
options. Explicit keyword switches override the table, so a user can start from a source and change one behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal, TypeVar, get_args

Convention = Literal["default", "stvg_r1", "visioncoach", "time_r1", "tubedetr"]
CONVENTIONS: tuple[str, ...] = get_args(Convention)

T = TypeVar("T")


def check_convention(name: str) -> Convention:
    """The name itself, or ValueError naming the known conventions."""
    if name not in CONVENTIONS:
        raise ValueError(f"convention must be one of {list(CONVENTIONS)}, got {name!r}")
    return name  # type: ignore[return-value]


def resolve_options(table: Mapping[str, T], convention: str, **overrides: Any) -> T:
    """The options of `convention` from `table` (the default's when the source has no entry), with every override
    that is not None applied on top."""
    base = table.get(check_convention(convention), table["default"])
    changes = {key: value for key, value in overrides.items() if value is not None}
    return replace(base, **changes) if changes else base  # type: ignore[type-var]


__all__ = ["CONVENTIONS", "Convention", "check_convention", "resolve_options"]
