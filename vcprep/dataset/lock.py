"""One writer per dataset folder: an exclusive lock on `meta/.lock`."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class DatasetLockedError(RuntimeError):
    """Another process is writing the same dataset folder."""


def lock_folder(root: Path) -> Any:
    """Hold an exclusive lock on ROOT/meta/.lock for this writer's life.

    Two renders into one folder would delete each other's shards as strays. The kernel drops
    the lock when the process dies, so a kill -9 never leaves the folder locked.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        return None
    (root / "meta").mkdir(parents=True, exist_ok=True)
    handle = open(root / "meta" / ".lock", "w")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatasetLockedError(f"{root}: another `vcprep render` is writing this folder") from None
    return handle
