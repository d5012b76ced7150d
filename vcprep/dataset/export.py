"""`vcprep export`: rewrite a dataset into the row layout of an RL framework.

Teams on verl, EasyR1 or TRL train on our shards with their framework's own dataset classes and
reward loaders, so each layout is what that framework reads without glue code:

    verl    {data_source, prompt[{role, content}], videos[{video: [frame paths], sample_fps, frame_indices,
             source_fps}], ability, reward_model{style, ground_truth}, extra_info{split, index, <ground truth>}}
    easyr1  {problem (`<video>`, or one `<image>` per frame after its time), answer (JSON ground truth),
             videos: [clip path] | images: [frame paths]}
    trl     {prompt: [{role, content: [text, image, ...]}], images (embedded), solution, <ground truth>}

Why these forms:
- cost: a video costs half the visual tokens of the same frames as images (Qwen merges two frames into one
  temporal patch), so verl and EasyR1 get videos; TRL 1.16's GRPOTrainer takes images only.
- timing: Qwen2.5-VL spaces its temporal positions by `second_per_grid_ts` (2 / the rate it is told); Qwen3-VL
  writes `<t seconds>` before each 2-frame patch from the video metadata (frame indices / fps). verl passes each
  video entry's keys to qwen-vl-utils, which reads a frame list's rate from `sample_fps`; the entry's
  `frame_indices` and `source_fps` give Qwen3-VL the true times through `vctrain/adapters/verl_dataset.py`.
  EasyR1 samples videos at one global `data.video_fps` and tells a frame list 2 fps, so it gets one clip file per
  row written at the row's own rate. Image-frame rows put each frame's time before it as text (any times, exactly).
- ground truth: verl hands rewards `extra_info`, TRL every column, EasyR1 only the answer column,
  so EasyR1's `answer` is the whole structured ground truth as JSON (the adapters read it).
- portability: file paths are relative to OUT, or to a stated `--path-root` so several exports train in one run
  (or absolute with `--absolute-paths`); TRL's frames are embedded. Ground-truth columns keep the shard schema's
  types even when every value is null or empty, so exports concatenate.
- safety: frame and clip files are named from a hash of the sample id and variant (`safe_name`), never from
  the id itself, so any id gives its own folder inside OUT.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.dataset.export_card import ExportResult, render_export_card
from vcprep.dataset.export_media import PathStyle, clip_rate_fps, frame_file, safe_name, write_clip, write_frames
from vcprep.dataset.info import load_info
from vcprep.dataset.prompt_tokens import IMAGES, VIDEO, PromptTokenCounter, TokenBudget, TokenReport
from vcprep.dataset.reader import iter_rows
from vcshard.schema import DatasetFormatError, arrow_schema

__all__ = ["FORMATS", "ExportOptions", "ExportResult", "export_dataset", "frame_file", "safe_name"]

FORMATS = ("verl", "easyr1", "trl")
FRAMES_AS: dict[str, tuple[str, ...]] = {"verl": (VIDEO,), "easyr1": (VIDEO, IMAGES), "trl": (IMAGES,)}
"""How each framework can take a row's frames (the first is the default)."""
EXPORT_FILE = "train.parquet"
CARD_FILE = "README.md"
GROUND_TRUTH_COLUMNS = (
    "sample_id", "variant", "task", "answer", "target_id", "gt_span_seconds", "gt_pts_seconds", "gt_boxes",
    "object_names", "options", "meta", "frame_width", "frame_height", "video_duration_seconds",
)
"""Shard columns every reward needs (data_cards/SCHEMA.md); exported with every layout."""
_TYPES: dict[str, pa.DataType] = {
    **{f.name: f.type for f in arrow_schema() if f.name in GROUND_TRUTH_COLUMNS},
    "frame_pts_seconds": pa.list_(pa.float64()),
    "frame_indices": pa.list_(pa.int64()),
}
"""Exported ground-truth fields keep the shard schema's types (a column of nulls would otherwise be typed null)."""
TIMING_NOTES: dict[tuple[str, str], str] = {
    ("verl", VIDEO): "timing: each video entry carries its row's true rate as sample_fps (qwen-vl-utils reads it: "
                     "Qwen2.5-VL spacing) and its frame_indices and source_fps (Qwen3-VL timestamps, through "
                     "data.custom_cls vctrain/adapters/verl_dataset.py)",
    ("easyr1", VIDEO): "timing: one clip file per row at the row's own rate (set data.video_fps at least the fastest "
                       "rate below, so EasyR1's reader keeps every frame: Qwen2.5-VL spacing); EasyR1 gives Qwen3-VL "
                       "no video metadata, so for Qwen3-VL export with --frames-as images",
    ("easyr1", IMAGES): "timing: image-frame rows, each frame after its time as text (twice the visual tokens of "
                        "a video)",
    ("trl", IMAGES): "timing: image-frame rows, each frame after its time as text (TRL GRPO takes images only: "
                     "twice the visual tokens of a video); frames embedded in train.parquet",
}
"""What the CLI prints after an export, so a user sees how each framework gets the frame times."""


@dataclass(frozen=True)
class ExportOptions:
    """Everything `vcprep export` is told besides the dataset and the output folder."""

    to: str
    """Framework layout: verl, easyr1 or trl."""
    variants: list[str] | None = None
    """Only rows of these variants (None: all)."""
    frames_as: str | None = None
    """`video` or `images` (EasyR1 takes both; verl video, TRL images); None: the framework's first."""
    path_root: Path | None = None
    """Write file paths relative to this folder (a parent of OUT), so exports under it combine in one run."""
    absolute_paths: bool = False
    """Write absolute file paths instead."""
    tokens: TokenBudget | None = None
    """Count prompt tokens per row with this processor and pixel limits (None: not counted)."""


def sample_fps(pts_seconds: Sequence[float]) -> float:
    """The rate the model must be told: 1 / the mean spacing of the stored frames (2.0 for one frame)."""
    return clip_rate_fps(pts_seconds)


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


def _video_parts(prompt: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for i, text in enumerate(prompt.split("<video>")):
        if i:
            parts.append({"type": "video"})
        if text:
            parts.append({"type": "text", "text": text})
    return parts


def _image_parts(prompt: str, pts: Sequence[float]) -> list[dict[str, Any]]:
    return [{"type": "image"} if k is not None else {"type": "text", "text": text}
            for text, k in _frame_parts(prompt, pts)]


def token_messages(row: dict[str, Any], frames_as: str, to: str) -> list[dict[str, Any]]:
    """The messages the framework builds from an exported row (EasyR1: one user turn; verl, TRL: system + user)."""
    user = _video_parts(row["user_prompt"]) if frames_as == VIDEO else _image_parts(row["user_prompt"],
                                                                                     row["pts_seconds"])
    if to == "easyr1":
        return [{"role": "user", "content": [{"type": "text", "text": f"{row['system_prompt']}\n\n"}, *user]}]
    return [{"role": "system", "content": [{"type": "text", "text": row["system_prompt"]}]},
            {"role": "user", "content": user}]


@dataclass
class _Context:
    """One export's settings, handed to the row makers."""

    out: Path
    paths: PathStyle
    frames_as: str
    data_source: str
    pixels: dict[str, int]
    """min_pixels / max_pixels written into verl video entries (qwen-vl-utils reads them), when given."""


def verl_row(row: dict[str, Any], index: int, ctx: _Context) -> dict[str, Any]:
    frames = [ctx.paths.ref(p) for p in write_frames(row, ctx.out)]
    video = {"video": frames, "sample_fps": sample_fps(row["pts_seconds"]),
             "frame_indices": list(row["frame_indices"]), "source_fps": float(row["video_fps"]), **ctx.pixels}
    return {
        "data_source": ctx.data_source,
        "prompt": [{"role": "system", "content": row["system_prompt"]},
                   {"role": "user", "content": row["user_prompt"]}],
        "videos": [video],
        "ability": row["task"],
        "reward_model": {"style": "rule", "ground_truth": row["answer"] or ""},
        "extra_info": {"split": "train", "index": index, **_ground_truth(row)},
    }


def easyr1_row(row: dict[str, Any], index: int, ctx: _Context) -> dict[str, Any]:
    # EasyR1 builds a single user turn from `problem` split on <image> / <video>, so the system instructions lead it
    if ctx.frames_as == VIDEO:
        user, media = row["user_prompt"], {"videos": [ctx.paths.ref(write_clip(row, ctx.out,
                                                                              sample_fps(row["pts_seconds"])))]}
    else:
        user = "".join("<image>" if k is not None else text
                       for text, k in _frame_parts(row["user_prompt"], row["pts_seconds"]))
        media = {"images": [ctx.paths.ref(p) for p in write_frames(row, ctx.out)]}
    return {
        "problem": f"{row['system_prompt']}\n\n{user}",
        "answer": json.dumps(_ground_truth(row)),
        **media,
        "sample_id": row["sample_id"],
        "variant": row["variant"],
        "task": row["task"],
    }


def trl_row(row: dict[str, Any], index: int, ctx: _Context) -> dict[str, Any]:
    # content parts always {type, text} so the column has one Arrow type; one image part per frame
    parts = [{"type": p["type"], "text": p.get("text")} for p in _image_parts(row["user_prompt"], row["pts_seconds"])]
    return {
        "prompt": [{"role": "system", "content": [{"type": "text", "text": row["system_prompt"]}]},
                   {"role": "user", "content": parts}],
        "images": [{"bytes": f["bytes"], "path": frame_file(row["sample_id"], row["variant"], k, f["bytes"])}
                   for k, f in enumerate(row["frames"])],
        "solution": row["answer"] or "",
        **_ground_truth(row),
    }


_LAYOUTS: dict[str, Callable[[dict[str, Any], int, _Context], dict[str, Any]]] = {
    "verl": verl_row, "easyr1": easyr1_row, "trl": trl_row,
}


def _typed(name: str, t: pa.DataType) -> pa.DataType:
    """`t` with every ground-truth field set to the shard schema's type (recursing into structs and lists)."""
    if name in _TYPES:
        return _TYPES[name]
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _typed(f.name, f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(_typed("", t.value_type))
    return t


def _stable_table(rows: list[dict[str, Any]], to: str) -> pa.Table:
    table = pa.Table.from_pylist(rows)
    table = table.cast(pa.schema([pa.field(f.name, _typed(f.name, f.type)) for f in table.schema]))
    if to == "trl" and rows:
        table = _with_image_features(table)
    return table


def _with_image_features(table: pa.Table) -> pa.Table:
    """Mark TRL's `images` column as a list of Hugging Face `Image`s so `load_dataset` gives PIL images."""
    try:
        import datasets
    except ImportError as exc:  # the trl layout is read with `datasets`; its users have it
        raise ImportError("`vcprep export --to trl` needs the `datasets` package (pip install datasets)") from exc
    features = datasets.Features.from_arrow_schema(table.schema)
    features["images"] = datasets.List(datasets.Image())
    return table.cast(features.arrow_schema)


def _frames_as(options: ExportOptions) -> str:
    allowed = FRAMES_AS[options.to]
    chosen = options.frames_as or allowed[0]
    if chosen not in allowed:
        raise ValueError(f"--frames-as {chosen}: {options.to} takes {' or '.join(allowed)}")
    return chosen


def export_dataset(
    root: str | Path, out: str | Path, *, to: str, variants: list[str] | None = None,
    options: ExportOptions | None = None,
) -> ExportResult:
    """Write OUT/train.parquet in the framework's layout, the files its rows point at and OUT/README.md (the
    export's card: layout, timing, prompt tokens, warnings)."""
    options = options or ExportOptions(to=to, variants=variants)
    if options.to not in _LAYOUTS:
        raise ValueError(f"unknown export format {options.to!r}; choose one of {FORMATS}")
    frames_as = _frames_as(options)
    info = load_info(root)  # also refuses a newer major format
    out = Path(os.path.abspath(out))
    paths = PathStyle.for_export(out, options.path_root, options.absolute_paths)
    out.mkdir(parents=True, exist_ok=True)
    budget = options.tokens
    pixels = {k: v for k, v in (("min_pixels", budget and budget.min_pixels),
                                ("max_pixels", budget and budget.max_pixels)) if v}
    ctx = _Context(out, paths, frames_as, f"vcprep/{info.name}" if info.name else "vcprep", pixels)
    counter = PromptTokenCounter(budget) if budget is not None else None
    report = TokenReport(budget) if budget is not None else None
    make = _LAYOUTS[options.to]
    rows: list[dict[str, Any]] = []
    n_frames, uneven, max_rate = 0, [], 0.0
    columns = sorted({*GROUND_TRUTH_COLUMNS, "system_prompt", "user_prompt", "pts_seconds", "frames", "video_fps",
                      "frame_indices"})
    seen: set[tuple[str, str]] = set()
    for row in iter_rows(root, columns=columns, variants=options.variants):
        pair = (row["sample_id"], row["variant"])
        if pair in seen:  # two rows would share one frame folder; `vcprep verify` rejects it too
            raise DatasetFormatError(f"{root}: sample {pair[0]!r} variant {pair[1]!r} has two rows")
        seen.add(pair)
        key = f"{row['sample_id']}/{row['variant']}"
        rate = sample_fps(row["pts_seconds"])
        if frames_as == VIDEO:
            max_rate = max(max_rate, rate)
            if uneven_spacing(row["pts_seconds"], row["video_fps"]):
                uneven.append(key)
        if counter is not None and report is not None:
            report.per_row[key] = counter.count(token_messages(row, frames_as, options.to), row, frames_as, rate,
                                                frame_list=options.to == "verl")  # EasyR1 reads a clip file
        n_frames += len(row["frames"])
        rows.append(make(row, len(rows), ctx))
    path = out / EXPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(_stable_table(rows, options.to), tmp, compression="zstd")
    tmp.replace(path)
    result = ExportResult(path, len(rows), n_frames, TIMING_NOTES[(options.to, frames_as)], uneven, max_rate, report)
    if counter is not None and counter.timestamps_from_metadata and (options.to, frames_as) == ("easyr1", VIDEO):
        result.untimed = (f"{budget.processor if budget else ''} writes each 2-frame patch's time from the video's "
                          "metadata, which EasyR1 does not pass (it would read every clip at its default rate): "
                          "export with --frames-as images for this model")
    result.card = out / CARD_FILE
    result.card.write_text(render_export_card(result, dataset=str(root), to=options.to, frames_as=frames_as,
                                              paths=paths))
    return result
