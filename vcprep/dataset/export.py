"""`vcprep export`: rewrite a dataset into the row layout of an RL framework (SPEC section 6).

Teams on verl, EasyR1 or TRL should train on our shards without glue code. Each layout is a
single `train.parquet` plus the frames as JPEG/PNG files under `frames/`, referenced by absolute
path, because all three frameworks hand video frames to `qwen_vl_utils`/processors as file
lists. The ground truth travels as the answer text and, structured, beside it.

    verl    {data_source, prompt[{role, content}], videos[{video: [frame paths]}], ability,
             reward_model{style, ground_truth}, extra_info{split, index, ...}}
    easyr1  {problem, answer, videos: [[frame paths]]}   (data.prompt_key=problem)
    trl     {prompt: [{role, content: [{type, text}]}], videos, solution, ...reward kwargs}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.core.errors import InputError, resolve_under
from vcprep.dataset.shards import iter_rows, load_info

FORMATS = ("verl", "easyr1", "trl")
EXPORT_FILE = "train.parquet"
FRAMES_DIR = "frames"


@dataclass
class ExportResult:
    """Where the export went and how much it holds."""

    path: Path
    rows: int
    frames: int


def _contained(frames_root: Path, path: str) -> Path:
    """The frame's file under `frames_root`: its stored path, or, when that would escape the folder
    (a sample id such as `../x` or `/x`), the same path with `.`/`..` parts and leading slashes
    percent-encoded, so the export neither writes outside OUT nor fails."""
    try:
        return resolve_under(frames_root, path)
    except InputError:
        parts = [p.replace(".", "%2E") if p in (".", "..") else p for p in path.split("/") if p]
        return resolve_under(frames_root, "/".join(parts))


def _write_frames(row: dict[str, Any], frames_root: Path) -> list[str]:
    """Write a row's encoded frames as files (bytes unchanged) and return their absolute paths."""
    paths = []
    for frame in row["frames"]:
        target = _contained(frames_root, frame["path"])  # a sample id must not escape the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.stat().st_size != len(frame["bytes"]):
            target.write_bytes(frame["bytes"])
        paths.append(str(target))
    return paths


def _ground_truth(row: dict[str, Any]) -> dict[str, Any]:
    """Structured ground truth, so reward functions need not parse the answer text."""
    return {
        "sample_id": row["sample_id"],
        "variant": row["variant"],
        "task": row["task"],
        "target_id": row["target_id"],
        "gt_span_seconds": row["gt_span_seconds"],
        "video_duration_seconds": row["video_duration_seconds"],
        "frame_pts_seconds": row["pts_seconds"],
    }


def verl_row(row: dict[str, Any], frames: list[str], index: int, data_source: str) -> dict[str, Any]:
    return {
        "data_source": data_source,
        "prompt": [{"role": "system", "content": row["system_prompt"]},
                   {"role": "user", "content": row["user_prompt"]}],
        "videos": [{"video": frames}],
        "ability": row["task"],
        "reward_model": {"style": "rule", "ground_truth": row["answer"] or ""},
        "extra_info": {"split": "train", "index": index, **_ground_truth(row)},
    }


def easyr1_row(row: dict[str, Any], frames: list[str], index: int, data_source: str) -> dict[str, Any]:
    # EasyR1 builds a single user turn from `problem`, so the system instructions lead it
    return {
        "problem": f"{row['system_prompt']}\n\n{row['user_prompt']}",
        "answer": row["answer"] or "",
        "videos": [frames],
        **_ground_truth(row),
    }


def trl_row(row: dict[str, Any], frames: list[str], index: int, data_source: str) -> dict[str, Any]:
    # content parts always as lists of {type, text} so the column has one Arrow type
    user_parts = []
    for i, text in enumerate(row["user_prompt"].split("<video>")):
        if i:
            user_parts.append({"type": "video", "text": None})
        if text:
            user_parts.append({"type": "text", "text": text})
    return {
        "prompt": [{"role": "system", "content": [{"type": "text", "text": row["system_prompt"]}]},
                   {"role": "user", "content": user_parts}],
        "videos": [frames],
        "solution": row["answer"] or "",
        **_ground_truth(row),
    }


_LAYOUTS: dict[str, Callable[[dict[str, Any], list[str], int, str], dict[str, Any]]] = {
    "verl": verl_row, "easyr1": easyr1_row, "trl": trl_row,
}


def export_dataset(
    root: str | Path, out: str | Path, *, to: str, variants: list[str] | None = None,
) -> ExportResult:
    """Write OUT/train.parquet in the framework's layout and the frames under OUT/frames/."""
    if to not in _LAYOUTS:
        raise ValueError(f"unknown export format {to!r}; choose one of {FORMATS}")
    info = load_info(root)  # also refuses a newer major format
    out = Path(out)
    frames_root = (out / FRAMES_DIR).resolve()
    frames_root.mkdir(parents=True, exist_ok=True)
    make = _LAYOUTS[to]
    data_source = f"vcprep/{info.name}" if info.name else "vcprep"
    rows, n_frames = [], 0
    columns = ["sample_id", "variant", "task", "system_prompt", "user_prompt", "answer", "target_id",
               "gt_span_seconds", "video_duration_seconds", "pts_seconds", "frames"]
    for row in iter_rows(root, columns=columns, variants=variants):
        frames = _write_frames(row, frames_root)
        n_frames += len(frames)
        rows.append(make(row, frames, len(rows), data_source))
    path = out / EXPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows), tmp, compression="zstd")
    tmp.replace(path)
    return ExportResult(path, len(rows), n_frames)
