"""Which track is a sample's target: ground-truth boxes vote for tracks, and a rule says whether the winner
is trusted.

STVG-R1 votes, on every annotated frame, for the track whose box overlaps the ground truth most (any
overlap counts) and takes the majority; one vote at IoU 0.1 is then as good a label as a track that
follows the target everywhere. The default `strict` rule keeps the vote but refuses a winner that does
not really follow the target: each vote needs a box IoU of at least `min_iou`, and the winner must hold
at least `min_frames_share` of the annotated frames. A refused sample is not written as a training row
(the pipeline records why); `stvg_r1` reproduces the paper's labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vcprep.core.config import MatchConfig
from vcprep.core.geometry import box_iou_matrix
from vcprep.core.types import Tracks

NOT_DETECTED = "not detected"
"""No track overlaps the target's box on any annotated frame."""
WEAK_MATCH = "weak match"
"""Some track overlaps the target, but not closely or not often enough for the rule."""
CLASS_NOT_DETECTABLE = "class not detectable"
"""The target's category maps to no class the detector outputs (decided before tracking)."""
NO_GROUND_TRUTH_BOXES = "no ground-truth boxes"
"""An ID query (its answer names a track) with no ground-truth box inside its clip: nothing says which track is
the target, so its answer cannot be known."""


@dataclass
class TargetMatch:
    """How a sample's target was chosen: the votes, the winner's overlap, and whether the rule trusts it."""

    target_id: int | None
    """The accepted track, or None when the rule refused every candidate."""
    convention: str
    """The rule that decided (`strict`, `stvg_r1`, or `seeded` when the target track was seeded from the
    ground truth)."""
    votes: dict[int, int] = field(default_factory=dict)
    """Annotated frames won by each track ID."""
    frames_annotated: int = 0
    """Annotated frames of the sample inside its clip (the denominator of the share)."""
    candidate_id: int | None = None
    """The vote's winner, accepted or not."""
    mean_iou: float | None = None
    """Mean box IoU of the winner with the ground truth over the frames it won."""
    refusal: str | None = None
    """Why no target was accepted: `not detected` or `weak match` (None when accepted; `no ground-truth boxes`
    is decided before matching, when there is nothing to match)."""
    detail: str = ""
    """The numbers behind a refusal, in words (for the errors table)."""

    @property
    def target_votes(self) -> int:
        return self.votes.get(self.candidate_id, 0) if self.candidate_id is not None else 0


def nearest_tracked_frame(tracked: np.ndarray, frame_index: int, tolerance: int) -> int | None:
    """The tracked frame closest to `frame_index` within `tolerance` frames, else None."""
    if tracked.size == 0:
        return None
    pos = int(np.argmin(np.abs(tracked - frame_index)))
    return int(tracked[pos]) if abs(int(tracked[pos]) - frame_index) <= tolerance else None


def frame_votes(tracks: Tracks, gt_boxes: dict[int, tuple[float, float, float, float]], *,
                tolerance_frames: int) -> list[tuple[int, float]]:
    """Per annotated frame, (track ID, IoU) of the track overlapping the ground-truth box most; frames with
    no overlapping track are left out. An annotated frame the tracker did not see reads the nearest tracked
    frame within `tolerance_frames` (hand-made tracks without a tracked-frame list read the exact frame)."""
    out = []
    for frame_index, gt in gt_boxes.items():
        f = nearest_tracked_frame(tracks.frame_indices_tracked, frame_index, tolerance_frames)
        here = tracks.at_frame(frame_index if f is None else f)
        if len(here) == 0:
            continue
        ious = box_iou_matrix(np.array([gt], np.float32), here.xyxy)[0]
        best = int(np.argmax(ious))  # ties: the first, i.e. the box listed first on that frame
        if ious[best] > 0:
            out.append((int(here.track_id[best]), float(ious[best])))
    return out


def match_target(tracks: Tracks, gt_boxes: dict[int, tuple[float, float, float, float]], rule: MatchConfig, *,
                 tolerance_frames: int = 0) -> TargetMatch:
    """The sample's target under `rule` (see the module docstring); ties between winners go to the lower ID."""
    n = len(gt_boxes)
    best = frame_votes(tracks, gt_boxes, tolerance_frames=tolerance_frames)
    floor = 0.0 if rule.convention == "stvg_r1" else rule.min_iou
    # stvg_r1 counts any overlap (IoU > 0); strict only votes of at least min_iou
    counted = [(t, iou) for t, iou in best if iou > 0 and iou >= floor]
    votes = Counter(t for t, _ in counted)
    if not votes:
        if not best:
            return TargetMatch(None, rule.convention, {}, n, refusal=NOT_DETECTED,
                               detail=f"no track overlaps the target's box on any of {n} annotated frames")
        top_iou = max(iou for _, iou in best)
        return TargetMatch(None, rule.convention, {}, n, refusal=WEAK_MATCH,
                           detail=f"the closest track reaches IoU {top_iou:.2f} (need {rule.min_iou:.2f}) "
                                  f"on {n} annotated frames")
    top = max(votes.values())
    winner = min(t for t, v in votes.items() if v == top)
    mean_iou = float(np.mean([iou for t, iou in counted if t == winner]))
    match = TargetMatch(winner, rule.convention, dict(votes), n, candidate_id=winner, mean_iou=mean_iou)
    share = top / n if n else 0.0
    if rule.convention == "strict" and share < rule.min_frames_share:
        match.target_id, match.refusal = None, WEAK_MATCH
        match.detail = (f"track {winner} wins {top} of {n} annotated frames ({share:.0%}, need "
                        f"{rule.min_frames_share:.0%}) at mean IoU {mean_iou:.2f}")
    return match


def seeded_match(tracks: Tracks, gt_boxes: dict[int, tuple[float, float, float, float]], target_id: int,
                 tolerance_frames: int) -> TargetMatch:
    """The record of a target whose track was seeded from the ground truth (`postprocess.seed_targets`):
    the votes it wins are reported like any other, but the target is the seeded track by construction."""
    best = frame_votes(tracks, gt_boxes, tolerance_frames=tolerance_frames)
    votes = Counter(t for t, _ in best)
    own = [iou for t, iou in best if t == target_id]
    return TargetMatch(target_id, "seeded", dict(votes), len(gt_boxes), candidate_id=target_id,
                       mean_iou=float(np.mean(own)) if own else None)
