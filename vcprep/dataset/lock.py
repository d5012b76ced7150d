"""One writer per dataset folder: an exclusive lock on `meta/.lock`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vcprep.dataset.files import NOFOLLOW
from vcshard.layout import MANIFEST_PARTS_DIR, VIDEO_STATS_PARTS_DIR
from vcshard.schema import DatasetFormatError

_FOLDERS = ("data", "meta", MANIFEST_PARTS_DIR, VIDEO_STATS_PARTS_DIR)
"""The dataset's own folders: a writer creates, lists and deletes files in them, so none may be a link."""


class DatasetLockedError(RuntimeError):
    """Another process is writing the same dataset folder."""


def check_folder_layout(root: Path) -> None:
    """Refuse a dataset folder whose data/ or meta/ folders are symbolic links (DatasetFormatError).

    A writer deletes unlisted shards in data/ and rewrites files in meta/: through a link it would
    delete or overwrite files of another folder. Checked before anything in the folder changes."""
    for rel in _FOLDERS:
        if (Path(root) / rel).is_symlink():
            raise DatasetFormatError(f"{Path(root) / rel}: is a symbolic link; a dataset's folders must be its own")


def lock_folder(root: Path) -> Any:
    """Hold an exclusive lock on ROOT/meta/.lock for this writer's life.

    Two renders into one folder would delete each other's shards as strays. The kernel drops
    the lock when the process dies, so a kill -9 never leaves the folder locked.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        return None
    check_folder_layout(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    fd = os.open(root / "meta" / ".lock", os.O_WRONLY | os.O_CREAT | NOFOLLOW, 0o644)  # never through a link
    handle = os.fdopen(fd, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatasetLockedError(f"{root}: another `vcprep render` is writing this folder") from None
    return handle
