"""Small helpers every dataset source shares: reading files, checking boxes and spans.

Sources raise `RecordError` (a ValueError) for a bad record; `guarded` turns it, and the other
errors a malformed record can cause, into an `ErrorRecord` naming the file and the record key,
so one bad record never stops a dataset.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vcprep.core.config import MAX_FPS
from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample

Box = tuple[float, float, float, float]


class RecordError(ValueError):
    """One annotation record is malformed; the message says what is wrong with it."""


def load_json(path: Path) -> Any:
    """The parsed file, or RecordError naming the file (missing, or not JSON)."""
    if not path.is_file():
        raise RecordError(f"{path}: file not found")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:  # Python's parser recurses once per level of nesting
        raise RecordError(f"{path}: JSON nested too deeply to parse") from exc


def text_lines(path: Path) -> Iterator[tuple[int, str | RecordError]]:
    """(line number, text) of a line-based annotation file, decoded line by line as UTF-8.

    A line with bytes that are not UTF-8 comes back as a RecordError for that line only: decoding
    the whole file at once would let one bad byte stop every record after it.
    """
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, RecordError(f"line {lineno} is not UTF-8 text ({exc.reason} at byte {exc.start})")


def parse_json_line(line: str) -> Any:
    """One JSON Lines record; deep nesting is a RecordError like any other malformed record."""
    try:
        return json.loads(line)
    except RecursionError as exc:
        raise RecordError("JSON nested too deeply to parse") from exc


def load_top_level(path: Path, expect: type, what: str) -> Any:
    """The parsed annotation file if its top level is an `expect` (list or dict), else one ErrorRecord
    for the whole file: a missing, unparsable or wrongly shaped file is reported, never raised."""
    try:
        data = load_json(path)
        if not isinstance(data, expect):
            raise RecordError(f"{path}: expected {what}")
    except RecordError as exc:
        return ErrorRecord("source", str(path), "", str(exc))
    return data


def resolve_aux(annotations: Path, path: str | None) -> Path | None:
    """Auxiliary upstream files (VidOR folder, duration CSV) are given relative to the
    annotation file's folder, so a recipe and its fixtures move together."""
    if not path:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else (annotations.parent / p).resolve()


def number(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: an integer beyond any float
        raise RecordError(f"{what} is not a number: {value!r}") from exc
    if not math.isfinite(out):
        raise RecordError(f"{what} is not finite: {value!r}")
    return out


def frame_rate(value: Any, what: str = "fps") -> float:
    """A video's frames per second: a number in (0, MAX_FPS]; a rate of 1e308 would overflow the first frame
    index computed from it."""
    fps = number(value, what)
    if not 0 < fps <= MAX_FPS:
        raise RecordError(f"{what} must be in (0, {MAX_FPS:g}], got {value!r}")
    return fps


def check_span(start: float, end: float, what: str = "span") -> tuple[float, float]:
    if start < 0 or end < start:
        raise RecordError(f"{what} must satisfy 0 <= start <= end, got [{start}, {end}]")
    return (start, end)


def check_xyxy(box: Box, what: str, *, normalized: bool = False) -> Box:
    """A valid xyxy box: x1 < x2, y1 < y2, non-negative; within [0, 1] when normalised."""
    x1, y1, x2, y2 = box
    if min(x1, y1) < 0 or x2 <= x1 or y2 <= y1:
        raise RecordError(f"{what} must satisfy 0 <= x1 < x2 and 0 <= y1 < y2, got {list(box)}")
    if normalized and max(x2, y2) > 1.0 + 1e-6:
        raise RecordError(f"{what} is marked normalised but exceeds 1: {list(box)}")
    return box


def xywh_to_xyxy(xywh: Any, what: str) -> Box:
    """[x, y, w, h] (top-left corner, size; HC-STVG) to [x1, y1, x2, y2] with x2 = x + w (exclusive)."""
    if not isinstance(xywh, (list, tuple)) or len(xywh) != 4:
        raise RecordError(f"{what} must be [x, y, w, h], got {xywh!r}")
    x, y, w, h = (number(v, what) for v in xywh)
    if w <= 0 or h <= 0:
        raise RecordError(f"{what} has a non-positive size: {list(xywh)}")
    return check_xyxy((x, y, x + w, y + h), what)


def xyxy_from_list(box: Any, what: str, *, normalized: bool = False) -> Box:
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        raise RecordError(f"{what} must be [x1, y1, x2, y2], got {box!r}")
    x1, y1, x2, y2 = (number(v, what) for v in box)
    return check_xyxy((x1, y1, x2, y2), what, normalized=normalized)


def xyxy_from_mapping(box: Any, what: str) -> Box:
    """{xmin, ymin, xmax, ymax} pixels (VidOR trajectories, V-STaR boxes)."""
    if not isinstance(box, dict):
        raise RecordError(f"{what} must be a mapping with xmin/ymin/xmax/ymax, got {box!r}")
    try:
        coords = tuple(number(box[k], f"{what}.{k}") for k in ("xmin", "ymin", "xmax", "ymax"))
    except KeyError as exc:
        raise RecordError(f"{what} lacks {exc.args[0]!r}") from exc
    return check_xyxy(coords, what)  # type: ignore[arg-type]


def require(rec: Any, *keys: str) -> None:
    if not isinstance(rec, dict):
        raise RecordError(f"record must be a JSON object, got {type(rec).__name__}")
    missing = [k for k in keys if rec.get(k) in (None, "")]
    if missing:
        raise RecordError(f"missing {', '.join(repr(k) for k in missing)}")


def video_under(video_dir: str, name: str) -> str:
    """Video path relative to the data root: `video_dir/name` (no leading slash added)."""
    return f"{video_dir.rstrip('/')}/{name}" if video_dir else name


def guarded(file: Path, key: str, parse: Callable[..., Sample | list[Sample]], *args: Any
            ) -> Iterator[Sample | ErrorRecord]:
    """`parse(*args)`: one record's conversion (one Sample or several); a malformed record becomes one
    ErrorRecord, never an exception."""
    try:
        made = parse(*args)
    except (RecordError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            ArithmeticError) as exc:  # ArithmeticError: 1e400 read as inf, then int(inf) overflows
        yield ErrorRecord("source", str(file), key, f"malformed record: {exc}")
        return
    yield from (made if isinstance(made, list) else [made])
