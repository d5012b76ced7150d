"""Reading vcprep shards (data_cards/SCHEMA.md) into model-ready samples, in a resumable order.

Why an index of (file, row group, row) instead of loading tables: shards hold encoded frames, so only the
light columns are read up front and each sample's row group (one per sample) is read when it is visited.
The visiting order is a pure function of (seed, counter), so the data position is one integer in checkpoints.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_MAJOR = 1
_INDEX_COLUMNS = ("sample_id", "variant", "task")


@dataclass(frozen=True)
class RowRef:
    """Where one (sample, variant) row lives."""

    shard_path: str
    row_group: int
    row_in_group: int
    sample_id: str
    variant: str


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


def _check_folder(folder: Path) -> list[Path]:
    """Shard files of one dataset folder, listed by its manifest; refuses a newer major format version."""
    info_path = folder / "meta" / "info.json"
    if not info_path.is_file():
        raise FileNotFoundError(f"{folder}: not a vcprep shard folder (meta/info.json missing)")
    version = str(json.loads(info_path.read_text()).get("format_version", "1.0"))
    major = int(version.split(".")[0])
    if major > SUPPORTED_MAJOR:
        raise ValueError(f"{info_path}: shard format {version} is newer than this reader ({SUPPORTED_MAJOR}.x)")
    manifest = folder / "meta" / "manifest.jsonl"
    if manifest.is_file():
        lines = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        return [folder / entry["shard"] for entry in lines]
    warnings.warn(f"{manifest}: missing; reading every data/*.parquet", stacklevel=2)
    return sorted((folder / "data").glob("*.parquet"))


def index_rows(shard_folders: list[str], variant: str, tasks: list[str] | tuple[str, ...] = ()) -> list[RowRef]:
    """The rows to train on, one per sample, choosing the variant as `raw`, a fixed name, or `column:NAME`.

    Samples without the wanted variant are skipped with a warning naming them (never fatal).
    """
    import pyarrow.parquet as pq

    if not shard_folders:
        raise ValueError("data.shards is empty: give at least one vcprep shard folder")
    column = variant.split(":", 1)[1] if variant.startswith("column:") else ""
    refs: list[RowRef] = []
    missing: list[str] = []
    for folder in shard_folders:
        for shard in _check_folder(Path(folder)):
            pf = pq.ParquetFile(shard)
            cols = list(_INDEX_COLUMNS) + ([column] if column else [])
            absent = [c for c in cols if c not in pf.schema_arrow.names]
            if absent:
                raise ValueError(f"{shard}: column(s) {absent} not found (variant={variant!r})")
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
            for sid, variants in by_sample.items():
                want = wanted.get(sid, "raw") if column else variant
                if want not in variants:
                    missing.append(f"{sid} (no {want!r} row in {shard})")
                    continue
                rg, i = variants[want]
                refs.append(RowRef(str(shard), rg, i, sid, want))
    if missing:
        warnings.warn(f"skipped {len(missing)} sample(s): {', '.join(missing[:5])}", stacklevel=2)
    if not refs:
        raise ValueError(f"no rows with variant {variant!r} in {shard_folders}")
    return refs


def index_variants(shard_folders: list[str], tasks: list[str] | tuple[str, ...] = ()) -> dict[tuple[str, str], RowRef]:
    """Every row of the shards keyed by (sample_id, variant), so a trainer can fetch any pre-rendered variant of a
    sample it is training on (VisionCoach's prompted input) without rendering anything."""
    import pyarrow.parquet as pq

    out: dict[tuple[str, str], RowRef] = {}
    for folder in shard_folders:
        for shard in _check_folder(Path(folder)):
            pf = pq.ParquetFile(shard)
            for rg in range(pf.num_row_groups):
                table = pf.read_row_group(rg, columns=list(_INDEX_COLUMNS)).to_pydict()
                for i, (sid, var, task) in enumerate(zip(table["sample_id"], table["variant"], table["task"])):
                    if not tasks or task in tasks:
                        out[(sid, var)] = RowRef(str(shard), rg, i, sid, var)
    return out


def _pick(n: int, max_frames: int) -> list[int]:
    """Uniformly spread indices of at most `max_frames` of `n` frames, first and last included."""
    if n <= max_frames:
        return list(range(n))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, max_frames)})


def load_sample(ref: RowRef, max_frames: int) -> VideoSample:
    """Read one row and decode its frames (JPEG/PNG) to RGB arrays, keeping each frame's source time."""
    import pyarrow.parquet as pq
    from PIL import Image

    table = pq.ParquetFile(ref.shard_path).read_row_group(ref.row_group)
    row = table.slice(ref.row_in_group, 1).to_pylist()[0]
    stored = row.pop("frames")
    keep = _pick(len(stored), max_frames)
    if not keep:
        raise ValueError(f"{ref.shard_path}: sample {ref.sample_id!r} has no frames")
    frames = np.stack([np.asarray(Image.open(io.BytesIO(stored[i]["bytes"])).convert("RGB")) for i in keep])
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
