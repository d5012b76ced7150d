"""One sample as the sample page draws it: prompts, answer, per-frame overlays, timeline lanes.

Every box sent to the page is read from the row itself (stored-frame pixels, xyxy), so what the
page draws can be checked against the shard: the ground-truth box on annotated frames (linearly
interpolated between two annotated frames, and flagged so), the target track's box and every
track's box from `frame_track_ids` / `frame_track_boxes`, and the model's boxes from the eval run (its
answer's ID on the frames inside its span, and the boxes its reasoning claims at a time).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from typing import Any

from vcprep.view.evalrun import EvalRun


def gt_box_at(frame_index: int, gt_frames: list[int], gt_boxes: list[list[float]]) -> tuple[list[float] | None, bool]:
    """(box, interpolated) of the ground truth at a frame: exact on an annotated frame, linear between the two
    annotated frames around it, None outside the annotated range."""
    pairs = sorted(zip(gt_frames or [], gt_boxes or []))
    frames = [int(f) for f, _ in pairs]
    i = bisect_left(frames, frame_index)
    if i < len(frames) and frames[i] == frame_index:
        return [float(v) for v in pairs[i][1]], False
    if i == 0 or i == len(frames):
        return None, False
    (f0, b0), (f1, b1) = pairs[i - 1], pairs[i]
    w = (frame_index - f0) / (f1 - f0)
    return [float(a + w * (b - a)) for a, b in zip(b0, b1)], True


def track_lanes(row: dict[str, Any]) -> list[dict[str, Any]]:
    """When each track ID is visible: per ID, runs of consecutive tube frames as [start, end] seconds.

    Two tube entries of an ID belong to one run when no tracked frame of the clip lies between them."""
    times = sorted({float(t) for t in row.get("tube_pts_seconds") or []})
    step = {t: i for i, t in enumerate(times)}
    by_id: dict[int, list[float]] = {}
    for track, t in zip(row.get("tube_track_ids") or [], row.get("tube_pts_seconds") or []):
        by_id.setdefault(int(track), []).append(float(t))
    lanes = []
    for track, ts in sorted(by_id.items()):
        ts = sorted(set(ts))
        runs = [[ts[0], ts[0]]]
        for t in ts[1:]:
            if step[t] == step[runs[-1][1]] + 1:
                runs[-1][1] = t
            else:
                runs.append([t, t])
        lanes.append({"id": track, "runs": runs})
    return lanes


CLAIM_GATE_SECONDS = 1.0
"""A reasoning claim (`<obj>..</obj><box>[..]</box>at<t>T</t>s`) is drawn on the stored frame nearest to T when
that frame lies within this many seconds (the spatial reward's temporal gate)."""


def claims_by_frame(claims: list[dict[str, Any]], pts_seconds: list[float]) -> dict[int, list[dict[str, Any]]]:
    """{stored frame position: [{name, box}]}: each claim's boxes on its nearest stored frame, in stored-frame
    pixels (the spatial reward's default `box_units`)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for claim in claims:
        t = claim.get("time_seconds")
        if not isinstance(t, (int, float)) or not pts_seconds:
            continue
        nearest = min(range(len(pts_seconds)), key=lambda i: abs(pts_seconds[i] - t))
        if abs(pts_seconds[nearest] - t) <= CLAIM_GATE_SECONDS:
            for box in claim.get("boxes") or []:
                out.setdefault(nearest, []).append({"name": claim.get("name", ""), "box": [float(v) for v in box]})
    return out


def _frames(row: dict[str, Any], sample_id: str, run: EvalRun | None) -> list[dict[str, Any]]:
    out = []
    prediction = run.row(sample_id) if run is not None else None
    claims = claims_by_frame(prediction["claims"] if prediction else [], list(row.get("pts_seconds") or []))
    target = row.get("target_id")
    for i, (frame_index, pts) in enumerate(zip(row.get("frame_indices") or [], row.get("pts_seconds") or [])):
        ids = (row.get("frame_track_ids") or [])[i] if i < len(row.get("frame_track_ids") or []) else []
        boxes = (row.get("frame_track_boxes") or [])[i] if i < len(row.get("frame_track_boxes") or []) else []
        gt, interpolated = gt_box_at(int(frame_index), row.get("gt_frame_indices") or [], row.get("gt_boxes") or [])
        target_box = next((b for t, b in zip(ids, boxes) if target is not None and int(t) == int(target)), None)
        out.append({
            "index": i, "frame_index": int(frame_index), "pts_seconds": float(pts),
            "key_frame": bool((row.get("key_frame") or [False] * (i + 1))[i]),
            "gt_box": gt, "gt_interpolated": interpolated,
            "target_box": [float(v) for v in target_box] if target_box is not None else None,
            "tracks": [{"id": int(t), "box": [float(v) for v in b]} for t, b in zip(ids, boxes)],
            "pred_box": run.pred_box_at(sample_id, float(pts), ids, boxes) if run is not None else None,
            "claim_boxes": claims.get(i, []),
        })  # fmt: skip
    return out


_TEXT_COLUMNS = ("sample_id", "variant", "source", "task", "video_path", "video_fps", "video_duration_seconds",
                 "source_width", "source_height", "frame_width", "frame_height", "question", "hint",
                 "system_prompt", "user_prompt", "answer", "target_id", "gt_span_seconds", "object_names", "options",
                 "oracle_tiou", "oracle_viou", "row_sha256")


def sample_detail(rows: list[dict[str, Any]], run: EvalRun | None) -> dict[str, Any]:
    """The sample page's data from the sample's variant rows (frames not included: they are fetched one by one)."""
    first = rows[0]
    sample_id = first["sample_id"]
    variants = []
    for row in rows:
        try:
            meta = json.loads(row.get("meta") or "{}")
        except json.JSONDecodeError:
            meta = {}
        variants.append({
            **{k: row.get(k) for k in _TEXT_COLUMNS},
            "meta": meta,
            "frames": _frames(row, sample_id, run),
        })  # fmt: skip
    meta0 = variants[0]["meta"] if isinstance(variants[0]["meta"], dict) else {}
    spans = [first.get("gt_span_seconds"), meta0.get("clip_span_seconds")]
    times = [float(t) for s in spans if s for t in s] + [float(t) for t in first.get("pts_seconds") or []]
    prediction = run.row(sample_id) if run is not None else None
    if prediction and prediction.get("pred_span_seconds"):
        times += [float(t) for t in prediction["pred_span_seconds"]]
    return {
        "sample_id": sample_id,
        "variants": variants,
        "timeline": {
            "start_seconds": min(times, default=0.0),
            "end_seconds": max(times, default=1.0),
            "gt_span_seconds": first.get("gt_span_seconds"),
            "clip_span_seconds": meta0.get("clip_span_seconds"),
            "lanes": track_lanes(first),
        },
        "prediction": prediction,
    }
