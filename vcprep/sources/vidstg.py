"""VidSTG (spatio-temporal grounding on VidOR videos), with the VidOR trajectories.

Upstream files:
- VidSTG `train_annotations.json` / `val_annotations.json` / `test_annotations.json`, a list of
  `{vid, fps, width, height, frame_count, used_segment{begin_fid, end_fid},
  temporal_gt{begin_fid, end_fid}, subject/objects[{tid, category}],
  captions[{type, target_id, description}], questions[{type, target_id, description}]}`;
- VidOR's per-video annotation `<group>/<vid>.json` with `video_path` (`<group>/<vid>.mp4`) and
  `trajectories`: one list per frame of `{tid, bbox{xmin, ymin, xmax, ymax}, ...}`.

Conventions resolved here:
- frame ids are **0-based** source frames; `end_fid` is **exclusive** (boxes exist on
  `begin_fid .. end_fid - 1`), so the span in seconds is `[begin_fid / fps, end_fid / fps]`.
- `used_segment` is the part of the (long) VidOR video the sentence is about: it becomes the
  sample's clip; the ground-truth span lies inside it.
- VidOR boxes are xyxy pixels already.
- declarative sentences (`captions`) and interrogative ones (`questions`) are scored apart in
  the literature: they get distinct sample ids (`-r<record>-d<i>` / `-q<i>`) and `x_sentence_type` in
  `meta`, and `sentences` selects one kind or both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample
from vcprep.sources.common import (
    RecordError,
    frame_rate,
    guarded,
    load_json,
    load_top_level,
    number,
    require,
    resolve_aux,
    video_under,
    xyxy_from_mapping,
)

SENTENCE_KINDS = {"declarative": "captions", "interrogative": "questions"}


class VidStgSource:
    def __init__(
        self, *, annotations: str, vidor_dir: str = "vidor_annotations", video_dir: str = "",
        sentences: str = "both",
    ) -> None:
        """
        Args:
            annotations: VidSTG's JSON (`train_annotations.json`...; the recipe's `source.annotations`).
            vidor_dir: folder of VidOR's per-video JSON (relative to the annotation file's folder), searched
                recursively by `<vid>.json`.
            video_dir: prefix of VidOR's `video_path` under the data root.
            sentences: `both`, `declarative` or `interrogative`: which sentences become samples.
        """
        if sentences not in ("both", *SENTENCE_KINDS):
            raise ValueError(f"vidstg sentences must be both, declarative or interrogative, got {sentences!r}")
        self.path = Path(annotations)
        self.vidor_dir = resolve_aux(self.path, vidor_dir)
        self.video_dir = video_dir
        self.kinds = list(SENTENCE_KINDS) if sentences == "both" else [sentences]
        self._vidor_index: dict[str, Path] | None = None

    def _vidor(self, vid: str) -> dict[str, Any]:
        if self._vidor_index is None:
            root = self.vidor_dir
            self._vidor_index = {p.stem: p for p in root.rglob("*.json")} if root and root.is_dir() else {}
        if vid not in self._vidor_index:
            raise RecordError(f"no VidOR annotation {vid}.json under {self.vidor_dir}")
        return load_json(self._vidor_index[vid])

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        data = load_top_level(self.path, list, "a JSON list of video records")
        if isinstance(data, ErrorRecord):
            yield data
            return
        for i, rec in enumerate(data):
            key = f"record {i}" + (f" ({rec.get('vid')})" if isinstance(rec, dict) else "")
            yield from guarded(self.path, key, self.parse, rec, i)

    def parse(self, rec: Any, index: int = 0) -> list[Sample]:
        """Samples of one VidSTG record (`index`: its position in the file, part of the ids,
        since one VidOR video can carry several records)."""
        require(rec, "vid", "fps", "temporal_gt", "used_segment")
        vid = str(rec["vid"])
        fps = frame_rate(rec["fps"])
        fid = lambda part, k: int(number(rec[part][k], f"{part}.{k}"))  # noqa: E731
        begin, end = fid("temporal_gt", "begin_fid"), fid("temporal_gt", "end_fid")
        seg_begin, seg_end = fid("used_segment", "begin_fid"), fid("used_segment", "end_fid")
        if not (0 <= seg_begin <= begin < end <= seg_end):
            raise RecordError(
                f"need 0 <= used_segment.begin <= temporal_gt.begin < temporal_gt.end <= used_segment.end, "
                f"got segment [{seg_begin}, {seg_end}) and gt [{begin}, {end})"
            )
        categories = {int(number(o["tid"], "subject/objects tid")): str(o["category"])
                      for o in rec.get("subject/objects", [])}
        vidor = self._vidor(vid)
        trajectories = vidor.get("trajectories")
        if not isinstance(trajectories, list) or len(trajectories) < end:
            raise RecordError(f"VidOR trajectories of {vid} cover fewer than end_fid={end} frames")
        video_path = video_under(self.video_dir, str(vidor.get("video_path") or f"{vid}.mp4"))
        samples = []
        for kind in self.kinds:
            for j, sentence in enumerate(rec.get(SENTENCE_KINDS[kind]) or []):
                target = int(number(sentence["target_id"], f"{SENTENCE_KINDS[kind]}[{j}].target_id"))
                boxes = {}
                for f in range(begin, end):
                    for obj in trajectories[f]:
                        if int(number(obj["tid"], f"trajectory tid on frame {f}")) == target:
                            boxes[f] = xyxy_from_mapping(obj["bbox"], f"trajectory of tid {target} on frame {f}")
                if not boxes:
                    raise RecordError(f"target tid {target} has no box inside temporal_gt [{begin}, {end})")
                text = str(sentence.get("description", "")).strip()
                if not text:
                    raise RecordError(f"{SENTENCE_KINDS[kind]}[{j}] has no description")
                samples.append(Sample(
                    sample_id=f"vidstg-{vid}-r{index}-{'d' if kind == 'declarative' else 'q'}{j}",
                    video_path=video_path,
                    question=text,
                    task="stvg",
                    source="vidstg",
                    gt_span_seconds=(begin / fps, end / fps),
                    gt_boxes=boxes,
                    clip_span_seconds=(seg_begin / fps, seg_end / fps),
                    object_names=(categories.get(target, "object"),),
                    fps=fps,
                    extra={"x_sentence_type": kind, "x_vidstg_target_tid": target,
                           "x_vidstg_frames": [begin, end], "x_vidstg_segment_frames": [seg_begin, seg_end]},
                ))
        return samples
