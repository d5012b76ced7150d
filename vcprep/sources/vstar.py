"""V-STaR (spatio-temporal reasoning chains: what, when, where).

Upstream file (`V_STaR_test.json`): a list of

    {"vid": "...", "domain": "...", "fps": 30.0, "width": 1280, "height": 720, "frame_count": 900,
     "question": "...", "answer": "...", "temporal_question": "...", "timestamps": [12.0, 18.5],
     "spatial_question": "...", "spatial_question_2": "...",
     "object": "man", "bboxes": [{"12.0_360": {"xmin": .., "ymin": .., "xmax": .., "ymax": ..}}, ...]}

One record becomes one sample per chain step chosen in `chains`:
- `what`: the question, free-form answer (`general_free_form`);
- `when`: the temporal question, span `timestamps` in seconds (`temporal_qa`);
- `where`: the spatial question, boxes per timestamp (`st_grounding`, answered with
  `<obj>name</obj><box>[..]</box>at<t>sec</t>s` claims); `where_2` uses `spatial_question_2`
  (the what-where-when chain), same ground truth.

Conventions resolved here: `timestamps` are seconds; boxes are xyxy pixels of the source video
(`width` x `height`); a box's frame is its frame index when given (in the key
`"<timestamp>_<frame_index>"` or a `frame_index` field), else `round(timestamp * fps)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import KeyItem, Sample
from vcprep.sources.common import (
    RecordError,
    check_span,
    frame_rate,
    guarded,
    load_top_level,
    number,
    require,
    video_under,
    xyxy_from_mapping,
)

CHAINS = {
    "what": ("question", "general_free_form"),
    "when": ("temporal_question", "temporal_qa"),
    "where": ("spatial_question", "st_grounding"),
    "where_2": ("spatial_question_2", "st_grounding"),
}


def parse_box_entry(entry: Any, what: str, fps: float) -> tuple[float, int, tuple[float, float, float, float]]:
    """(timestamp seconds, frame index, xyxy pixels) of one `bboxes` entry, in either release form.

    The README form is `{"<timestamp>_<frame_index>": {xmin, ymin, xmax, ymax}}`; the flat form
    read by the released evaluation code is `{timestamp, [frame_index], xmin, ymin, xmax, ymax}`.
    Without a frame index the frame is `round(timestamp * fps)`.
    """
    if isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry.values())), dict):
        key, box = next(iter(entry.items()))
        stamp, sep, frame_text = str(key).partition("_")
        t = number(stamp, f"{what} key {key!r}")
        frame = int(number(frame_text, f"{what} key {key!r}")) if sep else round(t * fps)
        return t, frame, xyxy_from_mapping(box, what)
    if not isinstance(entry, dict):
        raise RecordError(f"{what} must be a mapping, got {entry!r}")
    t = number(entry.get("timestamp"), f"{what}.timestamp")
    frame = int(number(entry["frame_index"], f"{what}.frame_index")) if "frame_index" in entry else round(t * fps)
    return t, frame, xyxy_from_mapping(entry, what)


class VStarSource:
    def __init__(
        self, *, annotations: str, chains: list[str] | None = None, video_dir: str = "", video_ext: str = ".mp4",
        object_name: str = "target",
    ) -> None:
        """
        Args:
            annotations: V-STaR's JSON (`V_STaR_test.json`; the recipe's `source.annotations`).
            chains: which reasoning steps become samples (None: what, when, where).
            video_dir: folder of the videos under the data root: a video is `video_dir/<vid><video_ext>`.
            video_ext: file extension of the videos.
            object_name: name of the grounded object in answers when a record lacks V-STaR's `object` field.
        """
        self.path = Path(annotations)
        self.chains = list(chains or ["what", "when", "where"])
        unknown = set(self.chains) - set(CHAINS)
        if unknown:
            raise ValueError(f"vstar chains must be among {sorted(CHAINS)}, got {sorted(unknown)}")
        self.video_dir = video_dir
        self.video_ext = video_ext
        self.object_name = object_name

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        data = load_top_level(self.path, list, "a JSON list of records")
        if isinstance(data, ErrorRecord):
            yield data
            return
        for i, rec in enumerate(data):
            key = f"record {i}" + (f" ({rec.get('vid')})" if isinstance(rec, dict) else "")
            yield from guarded(self.path, key, self.parse, rec, i)

    def parse(self, rec: Any, index: int) -> list[Sample]:
        require(rec, "vid", "fps")
        fps = frame_rate(rec["fps"])
        name = str(rec.get("object") or self.object_name)
        span = None
        if rec.get("timestamps") is not None:
            ts = rec["timestamps"]
            if not isinstance(ts, list) or len(ts) != 2:
                raise RecordError(f"timestamps must be [start, end] seconds, got {ts!r}")
            span = check_span(number(ts[0], "timestamps[0]"), number(ts[1], "timestamps[1]"), "timestamps")
        boxes: dict[int, tuple[float, float, float, float]] = {}
        items = []
        for j, b in enumerate(rec.get("bboxes") or []):
            t, frame, xyxy = parse_box_entry(b, f"bboxes[{j}]", fps)
            boxes[frame] = xyxy
            items.append(KeyItem(name=name, time_seconds=t, xyxy=xyxy, frame_index=frame))
        base = {"vid": str(rec["vid"]), "domain": rec.get("domain")}
        samples = []
        for chain in self.chains:
            field, task = CHAINS[chain]
            question = str(rec.get(field) or "").strip()
            if not question:
                raise RecordError(f"chain {chain!r} needs {field!r}")
            if task == "temporal_qa" and span is None:
                raise RecordError("chain 'when' needs timestamps")
            if task == "st_grounding" and not items:
                raise RecordError(f"chain {chain!r} needs bboxes")
            samples.append(Sample(
                sample_id=f"vstar-{index}-{rec['vid']}-{chain}",
                video_path=video_under(self.video_dir, f"{rec['vid']}{self.video_ext}"),
                question=question,
                task=task,
                source="vstar",
                gt_span_seconds=span,
                gt_boxes=boxes if task == "st_grounding" else {},
                object_names=(name,) if task == "st_grounding" else (),
                answer=str(rec["answer"]) if task == "general_free_form" and rec.get("answer") else None,
                fps=fps,
                key_items=tuple(items) if task == "st_grounding" else (),
                extra={"x_vstar_chain": chain, "x_vstar_domain": base["domain"]},
            ))
        return samples
