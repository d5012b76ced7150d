"""One dataset folder opened for viewing: its checked shards and a small index of its samples.

The index holds only the columns a sample list filters and sorts on (ids, task, source, video,
target, ceilings, match votes), read with column projection shard by shard, plus where each
sample's row group is. Frames, boxes and tubes stay on disk until a sample is opened, so a
dataset of any size opens in about the time it takes to read those few columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcprep.dataset.info import DatasetInfo, load_info
from vcprep.dataset.verify import VerifyReport, open_shard, trusted_manifest
from vcshard.layout import ERRORS_PATH, MANIFEST_PATH
from vcshard.manifest import read_jsonl
from vcshard.schema import DatasetFormatError

INDEX_COLUMNS = ["sample_id", "variant", "source", "task", "video_path", "target_id", "oracle_tiou",
                 "oracle_viou", "meta"]
"""The columns read when a dataset is opened; everything else is read per sample."""


class NotADatasetError(RuntimeError):
    """The folder cannot be viewed at all (no dataset, unreadable info, untrusted manifest)."""


def inside(root: Path, path: Path) -> bool:
    """True when `path`, links resolved, lies in `root`: a symlink in a shared folder must not lead the
    viewer to a file outside the dataset."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


@dataclass
class SampleEntry:
    """One sample of the index: what the sample list shows, filters and sorts on, and where its rows are."""

    sample_id: str
    shard: str
    """Manifest path of the shard (`data/<file>.parquet`)."""
    row_group: int
    variants: list[str]
    task: str
    source: str
    video_path: str
    target_id: int | None
    oracle_tiou: float | None
    oracle_viou: float | None
    match_quality: float | None
    """Share of the ground-truth frames whose best-overlapping track is the target (the majority vote's
    margin); None without ground truth."""
    has_error: bool = False
    """The errors table names this sample (or, in a record without a sample, its video)."""

    def summary(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample_id, "task": self.task, "source": self.source, "video_path": self.video_path,
            "variants": self.variants, "target_id": self.target_id, "matched": self.target_id is not None,
            "oracle_tiou": self.oracle_tiou, "oracle_viou": self.oracle_viou, "match_quality": self.match_quality,
            "has_error": self.has_error,
        }  # fmt: skip


def match_quality(meta: dict[str, Any], target_id: int | None) -> float | None:
    votes = meta.get("match_votes") or {}
    total = sum(int(v) for v in votes.values()) if isinstance(votes, dict) else 0
    if not total:
        return None
    return round(int(votes.get(str(target_id), 0)) / total, 4) if target_id is not None else 0.0


@dataclass
class DatasetCatalog:
    """A dataset folder opened read-only: info, errors table, shards that passed the cheap checks, the index."""

    root: Path
    info: DatasetInfo
    samples: dict[str, SampleEntry]
    order: list[str]
    """Sample ids in dataset order (manifest order)."""
    errors: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    """Shards that failed the checks (their samples are left out), each naming the shard and the reason."""
    shard_files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def open(cls, root: str | Path) -> DatasetCatalog:
        root = Path(root)
        if not root.is_dir():
            raise NotADatasetError(f"{root}: no such folder")
        try:
            if not inside(root, root / "meta" / "info.json"):
                raise NotADatasetError(f"{root}: meta/info.json links outside the dataset folder")
            info = load_info(root)
        except FileNotFoundError as exc:
            raise NotADatasetError(str(exc)) from None
        except DatasetFormatError as exc:
            raise NotADatasetError(str(exc)) from None
        if not inside(root, root / MANIFEST_PATH):
            raise NotADatasetError(f"{root}: {MANIFEST_PATH} links outside the dataset folder")
        report = VerifyReport(str(root))
        manifest = trusted_manifest(root, report)
        if manifest is None:
            raise NotADatasetError(f"{root}: the manifest cannot be trusted: " + "; ".join(report.problems))
        errors = read_jsonl(root / ERRORS_PATH) if inside(root, root / ERRORS_PATH) else []
        catalog = cls(root, info, {}, [], [e for e in errors if isinstance(e, dict)], list(report.problems))
        for entry in manifest:
            catalog._add_shard(entry)
        # a record names its sample when it has one; one without (a whole video failed) concerns the video's samples
        failed = {e.get("sample_id") for e in catalog.errors if e.get("sample_id")}
        failed_videos = {e.get("file") for e in catalog.errors if not e.get("sample_id")}
        for sample in catalog.samples.values():
            sample.has_error = sample.sample_id in failed or sample.video_path in failed_videos
        return catalog

    def _add_shard(self, entry: dict[str, Any]) -> None:
        rel = entry["shard"]
        path = self.root / rel
        if not inside(self.root, path):
            self.problems.append(f"{rel}: links outside the dataset folder; left out")
            return
        report = VerifyReport(str(self.root))
        pf = open_shard(self.root, entry, report, hash_file=False)
        if report.problems or pf is None:
            self.problems.extend(f"{p}; its samples are left out" for p in report.problems)
            return
        self.shard_files[rel] = path
        bounds = []
        start = 0
        for rg in range(pf.num_row_groups):
            start += pf.metadata.row_group(rg).num_rows
            bounds.append(start)
        table = pf.read(columns=INDEX_COLUMNS).to_pydict()
        row_group = 0
        for i, sample_id in enumerate(table["sample_id"]):
            while i >= bounds[row_group]:
                row_group += 1
            known = self.samples.get(sample_id)
            if known is not None:
                known.variants.append(table["variant"][i])
                continue
            try:
                meta = json.loads(table["meta"][i] or "{}")
            except json.JSONDecodeError:
                meta = {}
            target = table["target_id"][i]
            has_gt = table["oracle_viou"][i] is not None
            self.samples[sample_id] = SampleEntry(
                sample_id=sample_id, shard=rel, row_group=row_group, variants=[table["variant"][i]],
                task=table["task"][i] or "", source=table["source"][i] or "", video_path=table["video_path"][i] or "",
                target_id=target, oracle_tiou=table["oracle_tiou"][i], oracle_viou=table["oracle_viou"][i],
                match_quality=match_quality(meta if isinstance(meta, dict) else {}, target) if has_gt else None,
            )  # fmt: skip
            self.order.append(sample_id)
