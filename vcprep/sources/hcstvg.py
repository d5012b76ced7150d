"""HC-STVG v1 and v2 (human-centric spatio-temporal video grounding).

Upstream annotation (`anno_v2/train_v2.json`, `val_v2.json`; v1 `train.json`, `test.json`):

    {"<vid>.mp4": {"bbox": [[x, y, w, h], ...], "st_time": 3.2, "ed_time": 8.1,
                   "st_frame": 81, "img_num": 500, "width": 640, "height": 360,
                   "English": "The man in the white shirt turns and walks to the door."}}

Conventions resolved here (the rest of the toolkit never sees them):
- `st_frame` is **1-based**; `bbox[i]` belongs to 1-based frame `st_frame + i`, i.e. to the
  0-based source frame index `st_frame - 1 + i`.
- boxes are **xywh** pixels of the source video; they become xyxy with x2 = x + w.
- the span is `[st_time, ed_time]` in seconds (kept as given; the boxes do not redefine it).
- every HC-STVG video lasts 20 s, so the declared fps is `img_num / 20` (recorded, not used:
  decoding trusts the file).
- the sentence is under `English` (v2) or `caption` (v1); `query_field: auto` takes either.
- the v2 test split ships only queries, `{"<vid>.mp4": "sentence"}`: such records become
  samples without ground truth (for inference data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample
from vcprep.sources.common import (
    RecordError,
    check_span,
    guarded,
    load_top_level,
    number,
    require,
    video_under,
    xywh_to_xyxy,
)

HCSTVG_VIDEO_SECONDS = 20.0
QUERY_FIELDS = ("English", "caption")


class HcStvgSource:
    def __init__(
        self, *, annotations: str, version: str = "v2", query_field: str = "auto", video_dir: str = "",
    ) -> None:
        """
        Args:
            annotations: HC-STVG's JSON (`anno_v2/train_v2.json`, v1 `train.json`; the recipe's
                `source.annotations`).
            version: `v1` or `v2`: only labels the samples (both share one format).
            query_field: which text is the query: `auto`, `English` or `caption`.
            video_dir: folder of the videos under the data root.
        """
        if version not in ("v1", "v2"):
            raise ValueError(f"hcstvg version must be 'v1' or 'v2', got {version!r}")
        if query_field not in ("auto", *QUERY_FIELDS):
            raise ValueError(f"hcstvg query_field must be auto, English or caption, got {query_field!r}")
        self.path = Path(annotations)
        self.version = version
        self.query_field = query_field
        self.video_dir = video_dir

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        data = load_top_level(self.path, dict, "a JSON object keyed by video name")
        if isinstance(data, ErrorRecord):
            yield data
            return
        for vid, rec in data.items():
            yield from guarded(self.path, str(vid), self.parse, str(vid), rec)

    def _query(self, rec: dict[str, Any]) -> str:
        fields = QUERY_FIELDS if self.query_field == "auto" else (self.query_field,)
        for name in fields:
            if isinstance(rec.get(name), str) and rec[name].strip():
                return rec[name].strip()
        raise RecordError(f"no query text under {' or '.join(repr(f) for f in fields)}")

    def parse(self, vid: str, rec: Any) -> Sample:
        sample_id = f"hcstvg{self.version}-{Path(vid).stem}"
        if isinstance(rec, str):  # v2 test queries: {vid: sentence}, no ground truth
            if not rec.strip():
                raise RecordError("empty query")
            return Sample(sample_id=sample_id, video_path=video_under(self.video_dir, vid), question=rec.strip(),
                          task="stvg", source="hcstvg", object_names=("person",),
                          extra={"x_hcstvg_version": self.version, "x_query_only": True})
        require(rec, "bbox", "st_frame", "st_time", "ed_time")
        st_frame = int(number(rec["st_frame"], "st_frame"))
        if st_frame < 1:
            raise RecordError(f"st_frame is 1-based and must be >= 1, got {rec['st_frame']}")
        if not isinstance(rec["bbox"], list) or not rec["bbox"]:
            raise RecordError("bbox must be a non-empty list of [x, y, w, h]")
        boxes = {
            st_frame - 1 + i: xywh_to_xyxy(b, f"bbox[{i}] (1-based frame {st_frame + i})")
            for i, b in enumerate(rec["bbox"])
        }
        span = check_span(number(rec["st_time"], "st_time"), number(rec["ed_time"], "ed_time"), "st_time/ed_time")
        width, height = rec.get("width"), rec.get("height")
        if width and height:
            for f, (_, _, x2, y2) in boxes.items():
                if x2 > number(width, "width") + 1 or y2 > number(height, "height") + 1:
                    raise RecordError(f"box on frame index {f} ends at ({x2}, {y2}), outside {width}x{height}")
        img_num = rec.get("img_num")
        return Sample(
            sample_id=sample_id,
            video_path=video_under(self.video_dir, vid),
            question=self._query(rec),
            task="stvg",
            source="hcstvg",
            gt_span_seconds=span,
            gt_boxes=boxes,
            object_names=("person",),
            fps=number(img_num, "img_num") / HCSTVG_VIDEO_SECONDS if img_num else None,
            extra={"x_hcstvg_version": self.version, "x_st_frame_1based": st_frame},
        )
