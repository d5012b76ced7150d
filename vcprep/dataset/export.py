"""`vcprep export`: rewrite a dataset into the row layout of an RL framework (verl, EasyR1, TRL).

Teams on verl, EasyR1 or TRL train on our shards with their framework's own dataset classes and
reward loaders, so each layout is what that framework reads without glue code:

    verl    {data_source, prompt[{role, content}], videos[{video: [frame paths], sample_fps}], ability,
             reward_model{style, ground_truth}, extra_info{split, index, <ground truth>}}
    easyr1  {problem (one `<image>` per frame, each after its time), answer (JSON ground truth),
             images: [frame paths]}   (data.image_dir=OUT)
    trl     {prompt: [{role, content: [text, image, ...]}], images (embedded), solution, <ground truth>}

Why these forms:
- timing: Qwen2.5-VL learns time from the frame spacing it is told (`second_per_grid_ts`). verl
  passes each video entry's keys to qwen-vl-utils, which reads a frame list's rate from
  `sample_fps` (default 2.0), so every verl row carries its own true rate. EasyR1 builds the video
  entry itself from one global `data.video_fps` (qwen-vl-utils ignores it for frame lists) and TRL
  1.16 GRPO has no video input at all, so those two get image-frame rows: one image per frame, each
  after its time as text, which carries any per-row rate or frame cap exactly.
- ground truth: verl hands rewards `extra_info`, TRL every column, EasyR1 only the answer column,
  so EasyR1's `answer` is the whole structured ground truth as JSON (the adapters read it).
- portability: frame paths are relative to OUT (verl: run from OUT; EasyR1: `data.image_dir=OUT`),
  and TRL's frames are embedded as Hugging Face `Image` values, so a folder moves as it is.
- safety: frame files are named from a hash of the sample id and variant (`safe_name`), never from
  the id itself, so any id gives its own folder inside OUT.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.dataset.info import load_info
from vcprep.dataset.reader import iter_rows
from vcshard.schema import DatasetFormatError

FORMATS = ("verl", "easyr1", "trl")
EXPORT_FILE = "train.parquet"
FRAMES_DIR = "frames"
GROUND_TRUTH_COLUMNS = (
    "sample_id", "variant", "task", "answer", "target_id", "gt_span_seconds", "gt_pts_seconds", "gt_boxes",
    "object_names", "options", "meta", "frame_width", "frame_height", "video_duration_seconds",
)
"""Shard columns every reward needs (data_cards/SCHEMA.md); exported with every layout."""
TIMING_NOTES: dict[str, str] = {
    "verl": "timing: each video entry carries its rows' true rate as sample_fps (read by qwen-vl-utils); "
            "run verl from the export folder (frame paths are relative to it)",
    "easyr1": "timing: image-frame rows, each frame after its time as text (EasyR1's data.video_fps cannot reach "
              "frame lists); set data.image_dir to the export folder",
    "trl": "timing: image-frame rows, each frame after its time as text (TRL GRPO has no video input); "
           "frames embedded in train.parquet",
}
"""What the CLI prints after an export, so a user sees how each framework gets the frame times."""


@dataclass
class ExportResult:
    """Where the export went, how much it holds and how the framework gets the frame times."""

    path: Path
    rows: int
    frames: int
    note: str
    """How the framework gets the frame times (printed by the CLI)."""
    uneven_rows: int = 0
    """verl rows whose frames are unevenly spaced (a `max_frames` cap thinned them): one rate gives their mean."""

    def summary(self) -> str:
        """What the CLI prints: counts, the timing note and, for verl, rows whose exact times one rate cannot carry."""
        lines = [f"wrote {self.path} ({self.rows} rows, {self.frames} frames)", self.note]
        if self.uneven_rows:
            lines.append(f"warning: {self.uneven_rows} rows have unevenly spaced frames (thinned by max_frames); "
                         "verl is told their mean rate. --to easyr1 or trl keeps every frame's exact time.")
        return "\n".join(lines)


FRAME_NAME_CHARS = 48
"""Characters of a sample id or variant kept readable in a frame folder's name (the rest is in its hash)."""


def safe_name(text: str) -> str:
    """A file-name-safe, distinct folder name for a sample id or a variant name.

    Sample ids come from annotation files and are arbitrary text: `ok` and `./ok`, `../x` and
    `%2E%2E/x`, ids with NUL bytes or 300 characters must give distinct names that stay inside
    the folder and that every file system accepts. The name is a readable slug (letters, digits,
    `_`, `-`; at most FRAME_NAME_CHARS) plus 16 hex digits of the sha256 of the exact text."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:FRAME_NAME_CHARS].strip("_") or "id"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}"


def frame_file(sample_id: str, variant: str, position: int, data: bytes) -> str:
    """Where a row's `position`-th frame goes under OUT/frames: one folder per (sample, variant), the
    extension from the bytes (`.png` for PNG, else `.jpg`; `vcprep verify` checks the formats)."""
    ext = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"
    return f"{FRAMES_DIR}/{safe_name(sample_id)}/{safe_name(variant)}/{position:06d}.{ext}"


def _write_frames(row: dict[str, Any], out: Path) -> list[str]:
    """Write a row's encoded frames as files (bytes unchanged); return their paths relative to `out`."""
    paths = []
    for position, frame in enumerate(row["frames"]):
        rel = frame_file(row["sample_id"], row["variant"], position, frame["bytes"])
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != frame["bytes"]:
            target.write_bytes(frame["bytes"])
        paths.append(rel)
    return paths


def sample_fps(pts_seconds: Sequence[float]) -> float:
    """The rate the model must be told: 1 / the mean spacing of the stored frames (2.0 for one frame)."""
    if len(pts_seconds) < 2 or pts_seconds[-1] <= pts_seconds[0]:
        return 2.0
    return (len(pts_seconds) - 1) / (pts_seconds[-1] - pts_seconds[0])


def uneven_spacing(pts_seconds: Sequence[float], video_fps: float) -> bool:
    """Whether any gap between frames differs from the mean gap by more than half a source frame."""
    if len(pts_seconds) < 3:
        return False
    mean = 1.0 / sample_fps(pts_seconds)
    gaps = [b - a for a, b in itertools.pairwise(pts_seconds)]
    return max(abs(g - mean) for g in gaps) > 0.5 / max(video_fps, 1e-6)


def frame_time_text(t_seconds: float) -> str:
    """The text put before each frame of an image-frame row."""
    return f"{t_seconds:.2f}s: "


def _ground_truth(row: dict[str, Any]) -> dict[str, Any]:
    """Structured ground truth, complete for every task, so reward functions need not parse text."""
    return {**{key: row[key] for key in GROUND_TRUTH_COLUMNS}, "frame_pts_seconds": row["pts_seconds"]}


def _frame_parts(prompt: str, pts: Sequence[float]) -> list[tuple[str, int | None]]:
    """Split a user prompt on `<video>` into (text, None) and (time text, frame index) pieces."""
    pieces: list[tuple[str, int | None]] = []
    for i, text in enumerate(prompt.split("<video>")):
        if i:
            for k, t in enumerate(pts):
                pieces.append((frame_time_text(t), None))
                pieces.append(("", k))
                pieces.append(("\n", None))
        if text:
            pieces.append((text, None))
    return pieces


def verl_row(row: dict[str, Any], frames: list[Any], index: int, data_source: str) -> dict[str, Any]:
    return {
        "data_source": data_source,
        "prompt": [{"role": "system", "content": row["system_prompt"]},
                   {"role": "user", "content": row["user_prompt"]}],
        "videos": [{"video": frames, "sample_fps": sample_fps(row["pts_seconds"])}],
        "ability": row["task"],
        "reward_model": {"style": "rule", "ground_truth": row["answer"] or ""},
        "extra_info": {"split": "train", "index": index, **_ground_truth(row)},
    }


def easyr1_row(row: dict[str, Any], frames: list[Any], index: int, data_source: str) -> dict[str, Any]:
    # EasyR1 builds a single user turn from `problem` split on <image>, so the system instructions lead it
    user = "".join("<image>" if k is not None else text for text, k in _frame_parts(row["user_prompt"],
                                                                                      row["pts_seconds"]))
    return {
        "problem": f"{row['system_prompt']}\n\n{user}",
        "answer": json.dumps(_ground_truth(row)),
        "images": frames,
        "sample_id": row["sample_id"],
        "variant": row["variant"],
        "task": row["task"],
    }


def trl_row(row: dict[str, Any], frames: list[Any], index: int, data_source: str) -> dict[str, Any]:
    # content parts always {type, text} so the column has one Arrow type; one image part per frame
    parts = [{"type": "image", "text": None} if k is not None else {"type": "text", "text": text}
             for text, k in _frame_parts(row["user_prompt"], row["pts_seconds"])]
    return {
        "prompt": [{"role": "system", "content": [{"type": "text", "text": row["system_prompt"]}]},
                   {"role": "user", "content": parts}],
        "images": frames,
        "solution": row["answer"] or "",
        **_ground_truth(row),
    }


_LAYOUTS: dict[str, Callable[[dict[str, Any], list[Any], int, str], dict[str, Any]]] = {
    "verl": verl_row, "easyr1": easyr1_row, "trl": trl_row,
}


def _with_image_features(table: pa.Table) -> pa.Table:
    """Mark TRL's `images` column as a list of Hugging Face `Image`s so `load_dataset` gives PIL images."""
    try:
        import datasets
    except ImportError as exc:  # the trl layout is read with `datasets`; its users have it
        raise ImportError("`vcprep export --to trl` needs the `datasets` package (pip install datasets)") from exc
    features = datasets.Features.from_arrow_schema(table.schema)
    features["images"] = datasets.List(datasets.Image())
    return table.cast(features.arrow_schema)


def export_dataset(
    root: str | Path, out: str | Path, *, to: str, variants: list[str] | None = None,
) -> ExportResult:
    """Write OUT/train.parquet in the framework's layout (and, for verl and EasyR1, the frames under OUT/frames/)."""
    if to not in _LAYOUTS:
        raise ValueError(f"unknown export format {to!r}; choose one of {FORMATS}")
    info = load_info(root)  # also refuses a newer major format
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    make = _LAYOUTS[to]
    data_source = f"vcprep/{info.name}" if info.name else "vcprep"
    rows: list[dict[str, Any]] = []
    n_frames, uneven = 0, 0
    columns = sorted({*GROUND_TRUTH_COLUMNS, "system_prompt", "user_prompt", "pts_seconds", "frames", "video_fps"})
    seen: set[tuple[str, str]] = set()
    for row in iter_rows(root, columns=columns, variants=variants):
        key = (row["sample_id"], row["variant"])
        if key in seen:  # two rows would share one frame folder; `vcprep verify` rejects it too
            raise DatasetFormatError(f"{root}: sample {key[0]!r} variant {key[1]!r} has two rows")
        seen.add(key)
        uneven += to == "verl" and uneven_spacing(row["pts_seconds"], row["video_fps"])
        if to == "trl":
            frames: list[Any] = [
                {"bytes": f["bytes"], "path": frame_file(row["sample_id"], row["variant"], k, f["bytes"])}
                for k, f in enumerate(row["frames"])]
        else:
            frames = _write_frames(row, out)
        n_frames += len(frames)
        rows.append(make(row, frames, len(rows), data_source))
    table = pa.Table.from_pylist(rows)
    if to == "trl" and rows:
        table = _with_image_features(table)
    path = out / EXPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return ExportResult(path, len(rows), n_frames, TIMING_NOTES[to], uneven)
