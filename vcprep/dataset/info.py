"""`meta/info.json`: the dataset's format version, counts, features and configuration, read and written typed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vcprep.dataset.files import atomic_write_text
from vcshard.layout import INFO_PATH
from vcshard.schema import FORMAT_VERSION, DatasetFormatError, check_version


@dataclass
class DatasetInfo:
    """meta/info.json read into a dataclass; unknown keys are kept, not rejected."""

    format_version: str = FORMAT_VERSION
    name: str = ""
    created_by: str = ""
    num_samples: int = 0
    num_rows: int = 0
    num_frames: int = 0
    num_shards: int = 0
    num_errors: int = 0
    variants: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    features: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def write_info(root: Path, info: DatasetInfo) -> None:
    data = asdict(info)
    data.update(data.pop("extra"))
    atomic_write_text(Path(root) / INFO_PATH, json.dumps(data, indent=2, sort_keys=True))


def load_info(root: str | Path) -> DatasetInfo:
    path = Path(root) / INFO_PATH
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a vcprep dataset (no {INFO_PATH})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    check_version(data.get("format_version", "0"))
    known = set(DatasetInfo.__dataclass_fields__) - {"extra"}
    for name, expected in _INFO_TYPES.items():
        value = data.get(name)
        if value is not None and (not isinstance(value, expected) or (isinstance(value, bool) and expected is int)):
            found = f"{type(value).__name__} {value!r}"
            raise DatasetFormatError(f"{path}: {name} is {found}, expected {expected.__name__}")
    info = DatasetInfo(**{k: v for k, v in data.items() if k in known})
    info.extra = {k: v for k, v in data.items() if k not in known}
    return info


_INFO_TYPES: dict[str, type] = {
    "format_version": str, "name": str, "num_samples": int, "num_rows": int, "num_frames": int,
    "num_shards": int, "num_errors": int, "variants": list, "config": dict, "config_hash": str,
    "features": dict, "stats": dict, "provenance": dict,
}
