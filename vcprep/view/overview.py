"""The overview figures of a dataset: the data card's numbers, tracking-quality histograms, the errors table."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from vcprep.track.quality import answer_ceiling_of_tube
from vcprep.view.catalog import DatasetCatalog

_CEILING_COLUMNS = ["sample_id", "video_path", "tube_frame_indices", "tube_pts_seconds", "tube_track_ids",
                    "tube_boxes", "gt_frame_indices", "gt_boxes", "gt_span_seconds", "video_fps", "oracle_viou"]


def histogram(values: list[float], bins: int = 10) -> list[dict[str, Any]]:
    """Counts over [0, 1] in `bins` equal bins; 1.0 falls in the last bin."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return [{"low": i / bins, "high": (i + 1) / bins, "count": c} for i, c in enumerate(counts)]


class TrackingFigures:
    """Answer ceilings and IDs per video, read from the tube columns one row group at a time.

    Computed once, in a background thread started by the first request, because it reads every sample's tubes
    (about 15 s for 10,000 samples): the overview shows the rest at once and polls `get()` for progress.
    """

    def __init__(self, catalog: DatasetCatalog) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._figures: dict[str, Any] | None = None
        self._error = ""
        self.samples_read = 0

    def get(self) -> dict[str, Any]:
        """The figures when ready, else how far the computation is (starting it if needed)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vcprep-view-figures", daemon=True)
                self._thread.start()
            if self._figures is not None:
                return {"ready": True, **self._figures}
        return {"ready": False, "error": self._error, "samples_read": self.samples_read,
                "samples": len(self.catalog.samples)}  # fmt: skip

    def wait(self, timeout_seconds: float | None = None) -> dict[str, Any]:
        self.get()
        assert self._thread is not None
        self._thread.join(timeout_seconds)
        return self.get()

    def _run(self) -> None:
        try:
            figures = self._compute()
        except Exception as exc:  # shown on the page instead of the figures
            self._error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            self._figures = figures

    def _compute(self) -> dict[str, Any]:
        seen: set[str] = set()
        ceilings: list[float] = []
        ids_per_video: dict[str, set[int]] = {}
        for path in self.catalog.shard_files.values():
            pf = pq.ParquetFile(path)
            for rg in range(pf.num_row_groups):
                for r in pf.read_row_group(rg, columns=_CEILING_COLUMNS).to_pylist():
                    if r["sample_id"] in seen or r["sample_id"] not in self.catalog.samples:
                        continue
                    seen.add(r["sample_id"])
                    self.samples_read = len(seen)
                    ids_per_video.setdefault(r["video_path"], set()).update(r["tube_track_ids"] or [])
                    if r["oracle_viou"] is None:
                        continue
                    ceiling = answer_ceiling_of_tube(
                        r["tube_frame_indices"], r["tube_pts_seconds"], r["tube_track_ids"], r["tube_boxes"],
                        r["gt_frame_indices"], r["gt_boxes"], r["gt_span_seconds"], r["video_fps"])  # fmt: skip
                    if ceiling is not None:
                        ceilings.append(float(ceiling))
        per_video = Counter(len(ids) for ids in ids_per_video.values())
        return {
            "answer_ceiling_hist": histogram(ceilings),
            "ids_per_video": [{"ids": k, "videos": v} for k, v in sorted(per_video.items())],
        }


def error_links(catalog: DatasetCatalog) -> list[dict[str, Any]]:
    """The errors table, each record with what it concerns: the sample when the dataset holds it, else the
    video's samples when any exist."""
    videos = {s.video_path for s in catalog.samples.values()}
    out = []
    for e in catalog.errors:
        sample_id, file = e.get("sample_id") or "", e.get("file") or ""
        link = ""
        if sample_id in catalog.samples:
            link = f"sample:{sample_id}"
        elif file in videos:
            link = f"video:{file}"
        out.append({"stage": e.get("stage", "?"), "file": file, "sample_id": sample_id,
                    "reason": e.get("reason", ""), "link": link})  # fmt: skip
    return out


def overview(catalog: DatasetCatalog, figures: TrackingFigures) -> dict[str, Any]:
    """Everything but the tube-derived figures is read from the index and info.json; those come with
    `figures.ready` false until the background read is done (the page polls `/api/figures`)."""
    samples = list(catalog.samples.values())
    stats = catalog.info.stats or {}
    oracle = [s.oracle_viou for s in samples if s.oracle_viou is not None]
    with_gt = [s for s in samples if s.oracle_viou is not None]
    return {
        "name": catalog.info.name,
        "format_version": catalog.info.format_version,
        "card": {
            "samples": len(samples),
            "rows": stats.get("num_rows"),
            "frames": stats.get("num_frames"),
            "videos": stats.get("num_videos"),
            "video_seconds": stats.get("video_seconds"),
            "shards": len(catalog.shard_files),
            "variants": stats.get("rows_per_variant") or dict(Counter(v for s in samples for v in s.variants)),
            "tasks": dict(sorted(Counter(s.task for s in samples).items())),
            "sources": dict(sorted(Counter(s.source for s in samples).items())),
        },
        "quality": {
            "match_rate": round(sum(s.target_id is not None for s in with_gt) / len(with_gt), 4) if with_gt else None,
            "mean_oracle_viou": stats.get("mean_oracle_viou"),
            "mean_answer_ceiling_viou": stats.get("mean_answer_ceiling_viou"),
            "mean_ids_per_video": stats.get("mean_ids_per_video"),
            "oracle_viou_hist": histogram(oracle),
        },
        "figures": figures.get(),
        "errors": error_links(catalog),
        "problems": catalog.problems,
    }
