"""VisionCoach's visual-QA box rewards: the answer's box against the ground-truth box of an image question.

The ground-truth answer is written `<obj>name</obj><box>[x1, y1, x2, y2]</box>` in pixels of the original image
(`GroundTruth.source_size`); the model sees the processed image (`GroundTruth.frame_size`), so the ground-truth box is
rescaled by processed/original per axis first (reward_func.py, convert_coord_format_gqa). Boxes are read as JSON
lists, as the source reads them; a box that is not a list of four numbers scores 0.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vctrain.data.groundtruth import Box, GroundTruth
from vctrain.rewards.conventions import check_convention
from vctrain.rewards.geometry import box_iou
from vctrain.rewards.parse import answer_text
from vctrain.rewards.tasks import IMAGE_TASKS

_BOX_TAG_RE = re.compile(r"<box>" + r"(\[.*?\])" + r"</box>")  # one line: `.` does not cross a newline there


def json_boxes(text: str) -> list[Any]:
    """Every `<box>[...]</box>` of the text decoded as JSON, in order; a box that is not JSON is skipped."""
    out: list[Any] = []
    for raw in _BOX_TAG_RE.findall(text):
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


def as_box(value: Any) -> Box | None:
    """A JSON value as a box: a list of exactly four numbers (numeric strings and booleans convert, as numpy's
    float conversion does in the source); anything else is None."""
    if not isinstance(value, list) or len(value) != 4:
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (x1, y1, x2, y2)


def answer_box_in_frame(gt: GroundTruth) -> Box | None:
    """The first box of the ground-truth answer, rescaled from `source_size` to `frame_size` (unchanged when either
    is unknown); None when the answer holds no JSON box."""
    if gt.answer is None:
        return None
    first = _BOX_TAG_RE.search(gt.answer)
    if first is None:
        return None
    try:
        box = as_box(json.loads(first.group(1)))
    except ValueError:
        return None
    if box is None or gt.source_size is None or gt.frame_size is None:
        return box
    (sw, sh), (fw, fh) = gt.source_size, gt.frame_size
    return (box[0] * fw / sw, box[1] * fh / sh, box[2] * fw / sw, box[3] * fh / sh)


def answer_box(
    completion: str, gt: GroundTruth, *, progress: float = 0.0, convention: str = "default"
) -> dict[str, float]:
    """VisionCoach's `ans_viou_reward`: IoU of the first `<box>` in the first `<answer>` with the ground-truth box
    (rescaled to the processed image); 0 on rows that are not visual QA. Every convention agrees (the source is
    sound here)."""
    check_convention(convention)
    answer = answer_text(completion, "first")
    if gt.task not in IMAGE_TASKS or answer is None:
        return {"score": 0.0, "parsed": 0.0}
    first = _BOX_TAG_RE.search(answer)
    if first is None:
        return {"score": 0.0, "parsed": 0.0}
    try:
        predicted = json.loads(first.group(1))
    except ValueError:
        return {"score": 0.0, "parsed": 0.0}
    return {"score": box_iou(answer_box_in_frame(gt), as_box(predicted)), "parsed": 1.0}


def reasoning_box_iou(think: str, gt: GroundTruth) -> float:
    """Visual-QA branch of VisionCoach's spatial reward: the best IoU of any `<box>` in the reasoning with the
    ground-truth answer's box (rescaled); 0 without either."""
    reference = answer_box_in_frame(gt)
    predicted = json_boxes(think)
    if reference is None or not predicted:
        return 0.0
    return max(box_iou(reference, as_box(p)) for p in predicted)
