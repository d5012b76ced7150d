"""Reading vcprep shards (data_cards/SCHEMA.md) into model-ready samples, in a resumable order.

The contract itself (hashes, manifest checks, version, layout) is vcshard's, shared with the writer and
`vcprep verify`, so the trainer refuses exactly what verify refuses.

Why an index of (file, row group, row) instead of loading tables: shards hold encoded frames, so only the
light columns are read up front and each sample's row group (one per sample) is read when it is visited.
The visiting order is a pure function of (seed, counter), so the data position is one integer in checkpoints.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcconfig import ConfigError
from vcshard.frames import frame_problem, recipe_image_format
from vcshard.hashing import row_content_hash
from vcshard.layout import INFO_PATH
from vcshard.manifest import check_manifest, shard_file_problems
from vcshard.schema import HASH_COLUMN, DatasetFormatError, check_version, column_problems

_INDEX_COLUMNS = ("sample_id", "variant", "task")
MAX_PROMPT_CHARS = 32_000
"""A row whose system + user prompt is longer is refused by `load_sample` (the trainer records and skips it):
a 100 kB question is ~75k tokens, which a small model cannot attend over and a CPU run appears to hang on."""


class ShardCheckError(ValueError):
    """A shard folder that `vcprep verify` would reject; the message names the file and the reason."""


@dataclass(frozen=True)
class RowRef:
    """Where one (sample, variant) row lives."""

    shard_path: str
    row_group: int
    row_in_group: int
    sample_id: str
    variant: str
    image_format: str | None = None
    """The frame encoding the dataset's recipe chose (`jpeg`/`png`), checked before decoding; None: either."""


@dataclass
class VideoSample:
    """One row decoded for the model: frames with their true source times, the chat turns and the raw row."""

    sample_id: str
    variant: str
    frames: np.ndarray  # [T, H, W, 3] uint8
    pts_seconds: list[float]  # [T] source-video time of each frame
    frame_indices: list[int]  # [T] source-video frame index of each frame
    video_fps: float
    system_prompt: str
    user_prompt: str  # `<video>` marks where the frames go
    row: dict  # every column but `frames` (ground truth, tubes, ...)


def check_folder(folder: Path, *, full_check: bool = False) -> list[Path]:
    """Shard files of one dataset folder, listed by its manifest, after the checks `vcprep verify` makes cheaply,
    with the very same rules (vcshard: version, manifest lines, file size and sha256).

    Always: info.json parses with a supported major version and counts matching the manifest; every manifest
    line is well formed and names a file directly under data/; each shard is the folder's own file with the
    manifest's size and the columns the trainer reads. With `full_check`, also each file's sha256 (flipped bytes,
    edited rows). Row hashes are checked as each row is read (`load_sample`). Raises ShardCheckError.
    """
    import pyarrow.parquet as pq

    info_path = folder / INFO_PATH
    if not info_path.is_file():
        raise FileNotFoundError(f"{folder}: not a vcprep shard folder ({INFO_PATH} missing)")
    try:
        info = json.loads(info_path.read_text())
        check_version(str(info.get("format_version", "1.0")))
    except (json.JSONDecodeError, RecursionError, AttributeError) as exc:
        raise ShardCheckError(f"{info_path}: not a valid info.json ({exc})") from None
    except DatasetFormatError as exc:
        raise ShardCheckError(f"{info_path}: {exc}") from None
    manifest = check_manifest(folder)
    if manifest.problems:
        raise ShardCheckError(f"{folder}: {manifest.problems[0]}")
    entries = manifest.entries
    total_rows = sum(e["num_rows"] for e in entries)
    if info.get("num_rows") != total_rows or info.get("num_shards") != len(entries):
        raise ShardCheckError(f"{info_path}: num_rows/num_shards {info.get('num_rows')}/{info.get('num_shards')}, "
                              f"manifest lists {total_rows}/{len(entries)}")
    paths = []
    for entry in entries:
        problems = shard_file_problems(folder, entry, check_sha256=full_check)
        if problems:
            raise ShardCheckError(f"{folder}: {problems[0]}")
        path = folder / entry["shard"]
        meta = pq.ParquetFile(path).metadata
        columns = column_problems(meta.schema.to_arrow_schema())  # vcshard's: every column, the type verify wants
        if columns:
            raise ShardCheckError(f"{path}: {columns[0]}")
        if meta.num_rows != entry["num_rows"]:
            raise ShardCheckError(f"{path}: {meta.num_rows} rows, manifest says {entry['num_rows']}")
        paths.append(path)
    return paths


def _shard_positions(pf: Any, shard: Path, variant: str, column: str, tasks: Sequence[str]
                     ) -> tuple[dict[str, dict[str, tuple[int, int]]], dict[str, str]]:
    """(sample -> variant -> (row group, row)) of one shard's rows of the wanted tasks, and the variant
    named by each sample's `column` (for `column:NAME`)."""
    cols = list(_INDEX_COLUMNS) + ([column] if column else [])
    absent = [c for c in cols if c not in pf.schema_arrow.names]
    if absent:
        raise ConfigError(f"data.variant: {variant!r}: {shard} has no column(s) {absent}")
    by_sample: dict[str, dict[str, tuple[int, int]]] = {}
    wanted: dict[str, str] = {}
    for rg in range(pf.num_row_groups):
        table = pf.read_row_group(rg, columns=cols).to_pydict()
        for i, (sid, var, task) in enumerate(zip(table["sample_id"], table["variant"], table["task"])):
            if tasks and task not in tasks:
                continue
            by_sample.setdefault(sid, {})[var] = (rg, i)
            if column and table[column][i]:
                wanted.setdefault(sid, str(table[column][i]))
    return by_sample, wanted


def index_rows(
    shard_folders: list[str], variant: str, tasks: list[str] | tuple[str, ...] = (), *, full_check: bool = False,
) -> list[RowRef]:
    """The rows to train on, one per sample, choosing the variant as `raw`, a fixed name, or `column:NAME`.

    Samples without the wanted variant are skipped with a warning naming them (never fatal). A folder that
    `vcprep verify` would reject is refused (ShardCheckError; `full_check` adds every file's sha256).
    """
    import pyarrow.parquet as pq

    if not shard_folders:
        raise ConfigError("data.shards is empty: give at least one vcprep shard folder")
    column = variant.split(":", 1)[1] if variant.startswith("column:") else ""
    refs: list[RowRef] = []
    missing: list[str] = []
    for folder in shard_folders:
        shards = check_folder(Path(folder), full_check=full_check)
        image_format = _image_format(Path(folder))  # info.json is known good now
        for shard in shards:
            by_sample, wanted = _shard_positions(pq.ParquetFile(shard), shard, variant, column, tasks)
            for sid, variants in by_sample.items():
                want = wanted.get(sid, "raw") if column else variant
                if want not in variants:
                    missing.append(f"{sid} (no {want!r} row in {shard})")
                    continue
                rg, i = variants[want]
                refs.append(RowRef(str(shard), rg, i, sid, want, image_format))
    if missing:
        warnings.warn(f"skipped {len(missing)} sample(s): {', '.join(missing[:5])}", stacklevel=2)
    if not refs:
        raise ConfigError(f"data.variant: no rows with variant {variant!r} in {shard_folders}")
    return refs


def index_variants(
    shard_folders: list[str], tasks: list[str] | tuple[str, ...] = (), *, full_check: bool = False,
) -> dict[tuple[str, str], RowRef]:
    """Every row of the shards keyed by (sample_id, variant), so a trainer can fetch any pre-rendered variant of a
    sample it is training on (VisionCoach's prompted input) without rendering anything."""
    import pyarrow.parquet as pq

    out: dict[tuple[str, str], RowRef] = {}
    for folder in shard_folders:
        shards = check_folder(Path(folder), full_check=full_check)
        image_format = _image_format(Path(folder))  # info.json is known good now
        for shard in shards:
            pf = pq.ParquetFile(shard)
            for rg in range(pf.num_row_groups):
                table = pf.read_row_group(rg, columns=list(_INDEX_COLUMNS)).to_pydict()
                for i, (sid, var, task) in enumerate(zip(table["sample_id"], table["variant"], table["task"])):
                    if not tasks or task in tasks:
                        out[(sid, var)] = RowRef(str(shard), rg, i, sid, var, image_format)
    return out


def _image_format(folder: Path) -> str | None:
    """The recipe's frame encoding from the folder's info.json (`check_folder` has checked it already)."""
    return recipe_image_format(json.loads((folder / "meta" / "info.json").read_text()).get("config"))


def _pick(n: int, max_frames: int) -> list[int]:
    """Uniformly spread indices of at most `max_frames` of `n` frames, first and last included."""
    if n <= max_frames:
        return list(range(n))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, max_frames)})


def load_sample(ref: RowRef, max_frames: int, *, max_prompt_chars: int = MAX_PROMPT_CHARS) -> VideoSample:
    """Read one row and decode its frames (JPEG/PNG) to RGB arrays, keeping each frame's source time.

    Refuses (ValueError; the trainer records and skips the row) a row whose content no longer matches its
    `row_sha256`, a prompt longer than `max_prompt_chars`, and a frame that vcshard's `frame_problem` refuses from
    its header (not JPEG/PNG or not the recipe's format, a declared size other than the row's or above the cap),
    before any decoder sees it; Pillow is then allowed its JPEG and PNG decoders only.
    """
    import pyarrow.parquet as pq
    from PIL import Image

    table = pq.ParquetFile(ref.shard_path).read_row_group(ref.row_group)
    row = table.slice(ref.row_in_group, 1).to_pylist()[0]
    if row.get(HASH_COLUMN) != row_content_hash(row):
        raise ShardCheckError(f"{ref.shard_path}: sample {ref.sample_id!r} variant {ref.variant!r}: content does not "
                              "match row_sha256 (changed after writing; `vcprep verify` rejects it)")
    chars = len(row.get("system_prompt") or "") + len(row.get("user_prompt") or "")
    if chars > max_prompt_chars:
        raise ValueError(f"{ref.shard_path}: sample {ref.sample_id!r}: prompt of {chars} characters is above the "
                         f"{max_prompt_chars} limit; refused rather than truncated (it would cut the question)")
    stored = row.pop("frames")
    keep = _pick(len(stored), max_frames)
    if not keep:
        raise ValueError(f"{ref.shard_path}: sample {ref.sample_id!r} has no frames")
    for i in keep:
        problem = frame_problem(stored[i]["bytes"], row.get("frame_width"), row.get("frame_height"), ref.image_format)
        if problem:
            raise ShardCheckError(f"{ref.shard_path}: sample {ref.sample_id!r} variant {ref.variant!r}: frame {i}: "
                                  f"{problem} (`vcprep verify` rejects it)")
    frames = np.stack([np.asarray(Image.open(io.BytesIO(stored[i]["bytes"]), formats=["JPEG", "PNG"]).convert("RGB"))
                       for i in keep])
    return VideoSample(
        sample_id=ref.sample_id,
        variant=ref.variant,
        frames=frames,
        pts_seconds=[float(row["pts_seconds"][i]) for i in keep],
        frame_indices=[int(row["frame_indices"][i]) for i in keep],
        video_fps=float(row["video_fps"]),
        system_prompt=row.get("system_prompt") or "",
        user_prompt=row.get("user_prompt") or "",
        row=row,
    )


@dataclass(frozen=True)
class DataOrder:
    """Seeded per-epoch permutation: visit `counter` -> row position. The counter is the resumable state."""

    num_rows: int
    seed: int
    shuffle: bool = True

    def position(self, counter: int) -> int:
        epoch, offset = divmod(counter, self.num_rows)
        if not self.shuffle:
            return offset
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_rows)
        return int(perm[offset])
