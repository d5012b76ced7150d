"""The viewer's JSON endpoints and static files, as a function of (path, query) -> response.

Request values never become file paths: a dataset is chosen by its number on the command line, a
sample by an id looked up in the index, a frame by its position in a row, and the static files are
a fixed list shipped in the package. So no request can reach a file outside the opened folders.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vcprep.view.catalog import DatasetCatalog, NotADatasetError, SampleEntry
from vcprep.view.evalrun import EvalRun, EvalRunError
from vcprep.view.overview import TrackingFigures, overview
from vcprep.view.rows import RowGroupCache, RowReadError, image_type, thumbnail_jpeg
from vcprep.view.sample import sample_detail

STATIC_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
                "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
                "/static/app.css": ("app.css", "text/css; charset=utf-8")}  # fmt: skip
MAX_PAGE_SIZE = 200


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes


class BadRequest(ValueError):
    """A request parameter that is missing or malformed (400), or names nothing that exists (404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(data: Any, status: int = 200) -> Response:
    return Response(status, "application/json", json.dumps(data, allow_nan=False, default=_plain).encode())


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


@dataclass
class OpenedDataset:
    """One dataset of the command line: opened, or the reason it could not be."""

    root: str
    catalog: DatasetCatalog | None = None
    error: str = ""
    rows: RowGroupCache | None = None
    figures: TrackingFigures | None = None

    @classmethod
    def open(cls, root: str | Path) -> OpenedDataset:
        try:
            catalog = DatasetCatalog.open(root)
        except NotADatasetError as exc:
            return cls(str(root), error=f"not a vcprep dataset: {exc}")
        return cls(str(root), catalog, rows=RowGroupCache(catalog), figures=TrackingFigures(catalog))


@dataclass
class ViewApp:
    """The datasets and the optional eval run the server was started with."""

    datasets: list[OpenedDataset]
    eval_run: EvalRun | None = None
    eval_error: str = ""
    eval_path: str = ""
    routes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, roots: list[str | Path], eval_run: str | Path | None = None) -> ViewApp:
        app = cls([OpenedDataset.open(r) for r in roots])
        if eval_run is not None:
            app.eval_path = str(eval_run)
            try:
                app.eval_run = EvalRun.open(eval_run)
            except EvalRunError as exc:
                app.eval_error = str(exc)
        return app

    def __post_init__(self) -> None:
        self.routes = {"/api/state": self.state, "/api/overview": self.overview, "/api/figures": self.figures,
                       "/api/samples": self.samples,
                       "/api/sample": self.sample, "/api/frame": self.frame, "/api/eval": self.eval,
                       "/api/compare": self.compare}  # fmt: skip

    def handle(self, path: str, query: dict[str, str]) -> Response:
        if path in STATIC_FILES:
            name, kind = STATIC_FILES[path]
            return Response(200, kind, resources.files("vcprep.view").joinpath("static", name).read_bytes())
        route = self.routes.get(path)
        if route is None:
            return _json({"error": f"no such page: {path}"}, 404)
        try:
            return route(query)
        except BadRequest as exc:
            return _json({"error": str(exc)}, exc.status)
        except RowReadError as exc:
            return _json({"error": str(exc)}, 422)

    # ------------------------------------------------------------------ helpers
    def _dataset(self, query: dict[str, str]) -> OpenedDataset:
        raw = query.get("ds", "0")
        if not raw.isdigit() or int(raw) >= len(self.datasets):
            raise BadRequest(f"ds must be a dataset number from 0 to {len(self.datasets) - 1}, got {raw!r}", 404)
        opened = self.datasets[int(raw)]
        if opened.catalog is None:
            raise BadRequest(f"{opened.root}: {opened.error}", 404)
        return opened

    @staticmethod
    def _entry(opened: OpenedDataset, query: dict[str, str]) -> SampleEntry:
        assert opened.catalog is not None
        sample_id = query.get("id", "")
        entry = opened.catalog.samples.get(sample_id)
        if entry is None:
            raise BadRequest(f"{opened.root}: no sample {sample_id!r}", 404)
        return entry

    @staticmethod
    def _int(query: dict[str, str], key: str, default: int) -> int:
        raw = query.get(key)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(f"{key} must be an integer, got {raw!r}") from None

    @staticmethod
    def _float(query: dict[str, str], key: str) -> float | None:
        raw = query.get(key)
        if raw is None or raw == "":
            return None
        try:
            return float(raw)
        except ValueError:
            raise BadRequest(f"{key} must be a number, got {raw!r}") from None

    # ------------------------------------------------------------------ endpoints
    def state(self, query: dict[str, str]) -> Response:
        datasets = []
        for i, d in enumerate(self.datasets):
            c = d.catalog
            datasets.append({"ds": i, "root": d.root, "error": d.error, "name": c.info.name if c else "",
                             "samples": len(c.samples) if c else 0, "problems": c.problems if c else []})
        run = self.eval_run
        return _json({"datasets": datasets, "eval": {
            "path": self.eval_path, "error": self.eval_error, "variant": run.variant if run else "",
            "samples": len(run.records) if run else 0, "metrics": run.metrics if run else {}}})

    def overview(self, query: dict[str, str]) -> Response:
        opened = self._dataset(query)
        assert opened.catalog is not None and opened.figures is not None
        return _json(overview(opened.catalog, opened.figures))

    def figures(self, query: dict[str, str]) -> Response:
        opened = self._dataset(query)
        assert opened.figures is not None
        return _json(opened.figures.get())

    def _eval_value(self, sample_id: str, key: str) -> float | None:
        row = self.eval_run.row(sample_id) if self.eval_run else None
        return row.get(key) if row else None

    def samples(self, query: dict[str, str]) -> Response:
        opened = self._dataset(query)
        catalog = opened.catalog
        assert catalog is not None
        entries = [catalog.samples[s] for s in catalog.order]
        facets = {
            "tasks": sorted({e.task for e in entries}), "sources": sorted({e.source for e in entries}),
            "variants": sorted({v for e in entries for v in e.variants}),
            "videos": sorted({e.video_path for e in entries}),
        }  # fmt: skip
        entries = SampleFilter.from_query(query, self._float).apply(entries)
        sort = query.get("sort", "")
        keys = {"sample_id", "task", "source", "video_path", "oracle_viou", "oracle_tiou", "match_quality"}
        if sort in keys:
            values = [(e.summary()[sort], e) for e in entries]
            present = sorted([p for p in values if p[0] is not None], key=lambda p: p[0],
                             reverse=query.get("order") == "desc")  # fmt: skip
            entries = [e for _, e in present] + [e for v, e in values if v is None]
        elif sort in ("eval_viou", "eval_reward"):
            key = sort.removeprefix("eval_")
            valued = [(self._eval_value(e.sample_id, key), e) for e in entries]
            present = sorted([p for p in valued if p[0] is not None], key=lambda p: p[0],
                             reverse=query.get("order") == "desc")  # fmt: skip
            entries = [e for _, e in present] + [e for v, e in valued if v is None]
        elif sort:
            raise BadRequest(f"sort must be one of {sorted(keys | {'eval_viou', 'eval_reward'})}, got {sort!r}")
        size = min(MAX_PAGE_SIZE, max(1, self._int(query, "size", 50)))
        page = max(0, self._int(query, "page", 0))
        shown = entries[page * size : (page + 1) * size]
        items = []
        for e in shown:
            item = e.summary()
            if self.eval_run is not None:
                item["eval"] = self.eval_run.row(e.sample_id)
            items.append(item)
        return _json({"total": len(entries), "page": page, "size": size, "items": items, "facets": facets})

    def sample(self, query: dict[str, str]) -> Response:
        opened = self._dataset(query)
        entry = self._entry(opened, query)
        assert opened.rows is not None
        detail = sample_detail(opened.rows.rows(entry.sample_id), self.eval_run)
        detail["entry"] = entry.summary()
        return _json(detail)

    def frame(self, query: dict[str, str]) -> Response:
        opened = self._dataset(query)
        entry = self._entry(opened, query)
        assert opened.rows is not None
        variant = query.get("variant") or entry.variants[0]
        index = self._int(query, "i", 0)
        data = opened.rows.frame_bytes(entry.sample_id, variant, index)
        if data is None:
            raise BadRequest(f"sample {entry.sample_id!r} has no frame {index} in variant {variant!r}", 404)
        if query.get("thumb"):
            try:
                return Response(200, "image/jpeg", thumbnail_jpeg(data))
            except ValueError as exc:  # refused from its header (vcshard.frames), never decoded
                raise BadRequest(f"sample {entry.sample_id!r} frame {index}: {exc}", 422) from None
        return Response(200, image_type(data), data)

    def eval(self, query: dict[str, str]) -> Response:
        if self.eval_run is None:
            message = self.eval_error or "no eval run: start with `vcprep view DATASET --eval RUN_DIR`"
            raise BadRequest(message, 404)
        opened = self._dataset(query)
        assert opened.catalog is not None
        rows = [r for r in (self.eval_run.row(s) for s in self.eval_run.records) if r is not None]
        for r in rows:
            r["in_dataset"] = r["sample_id"] in opened.catalog.samples
        sort = query.get("sort", "viou")
        if rows and sort not in ("viou", "tiou", "reward") and sort not in rows[0]["rewards"]:
            raise BadRequest(f"sort must be viou, tiou, reward or a reward name, got {sort!r}")

        def value(r: dict[str, Any]) -> float:
            v = r.get(sort) if sort in ("viou", "tiou", "reward") else r["rewards"].get(sort)
            return math.inf if v is None else v

        rows.sort(key=value, reverse=query.get("order") == "desc")  # worst (lowest) first by default
        return _json({"variant": self.eval_run.variant, "metrics": self.eval_run.metrics, "rows": rows})

    def compare(self, query: dict[str, str]) -> Response:
        if len(self.datasets) < 2:
            raise BadRequest("compare needs two datasets: `vcprep view DATASET DATASET2`", 404)
        a, b = self._dataset({"ds": "0"}), self._dataset({"ds": "1"})
        assert a.catalog is not None and b.catalog is not None
        ids = list(a.catalog.order) + [s for s in b.catalog.order if s not in a.catalog.samples]
        rows = []
        for sample_id in ids:
            ea, eb = a.catalog.samples.get(sample_id), b.catalog.samples.get(sample_id)
            sa, sb = ea.summary() if ea else None, eb.summary() if eb else None
            fields = ("target_id", "oracle_viou", "oracle_tiou", "match_quality", "variants", "task")
            differs = sorted(f for f in fields if (sa or {}).get(f) != (sb or {}).get(f))
            rows.append({"sample_id": sample_id, "a": sa, "b": sb, "differs": differs})
        if query.get("only_diff"):
            rows = [r for r in rows if r["differs"]]
        size = min(MAX_PAGE_SIZE, max(1, self._int(query, "size", 50)))
        page = max(0, self._int(query, "page", 0))
        return _json({"total": len(rows), "page": page, "size": size, "rows": rows[page * size : (page + 1) * size],
                      "names": [a.catalog.info.name, b.catalog.info.name]})  # fmt: skip


@dataclass
class SampleFilter:
    """The sample list's filters; an unset field filters nothing."""

    task: str = ""
    source: str = ""
    variant: str = ""
    video: str = ""
    matched: str = ""
    """`yes`: the target was matched to a track; `no`: it was not (samples without ground truth drop out)."""
    error: str = ""
    """`yes`: the errors table names the sample (or its video, in a record without a sample); `no`: it does not."""
    text: str = ""
    """A part of the sample id."""
    quality_min: float | None = None
    quality_max: float | None = None
    ceiling_min: float | None = None
    """Oracle vIoU (the best single track's vIoU) at least this."""
    ceiling_max: float | None = None

    @classmethod
    def from_query(cls, query: dict[str, str], number: Any) -> SampleFilter:
        return cls(
            task=query.get("task", ""), source=query.get("source", ""), variant=query.get("variant", ""),
            video=query.get("video", ""), matched=query.get("matched", ""), error=query.get("error", ""),
            text=query.get("q", ""), quality_min=number(query, "quality_min"),
            quality_max=number(query, "quality_max"), ceiling_min=number(query, "ceiling_min"),
            ceiling_max=number(query, "ceiling_max"),
        )  # fmt: skip

    def keeps(self, e: SampleEntry) -> bool:
        checks = [
            not self.task or e.task == self.task,
            not self.source or e.source == self.source,
            not self.variant or self.variant in e.variants,
            not self.video or e.video_path == self.video,
            not self.text or self.text in e.sample_id,
            self.matched != "yes" or (e.oracle_viou is not None and e.target_id is not None),
            self.matched != "no" or (e.oracle_viou is not None and e.target_id is None),
            self.error != "yes" or e.has_error,
            self.error != "no" or not e.has_error,
            _in_range(e.match_quality, self.quality_min, self.quality_max),
            _in_range(e.oracle_viou, self.ceiling_min, self.ceiling_max),
        ]
        return all(checks)

    def apply(self, entries: list[SampleEntry]) -> list[SampleEntry]:
        return [e for e in entries if self.keeps(e)]


def _in_range(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)
