"""Bad input is recorded, never fatal: every failure becomes an ErrorRecord in the output."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ErrorRecord:
    stage: str
    """Where it failed: `source`, `decode`, `track`, `render`, `write`."""
    file: str
    sample_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class InputError(ValueError):
    """Bad input whose message already names the file and the reason."""


def resolve_under(root: str | Path, relative: str) -> Path:
    """Resolve `relative` under `root`, refusing absolute paths and paths that escape the root.

    The check is lexical (`..` is collapsed without following links), so a data root that is a
    symlink, or holds symlinked folders or files (a common dataset layout: `videos -> /mnt/...`),
    works, while a path written to climb out of the root (`../x`, `a/../../x`) is still refused.
    Links themselves are trusted: whoever built the data root placed them there.
    """
    root_path = Path(os.path.abspath(Path(root).expanduser()))
    if Path(relative).is_absolute():
        raise InputError(f"{relative}: absolute video paths are not allowed; give a path under {root_path}")
    full = Path(os.path.normpath(root_path / relative))
    if full != root_path and root_path not in full.parents:
        raise InputError(f"{relative}: path escapes the data root {root_path}")
    return full
