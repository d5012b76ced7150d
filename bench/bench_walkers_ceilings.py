"""Walkers: the two tracking ceilings and target-level figures of rendered walkers datasets.

For each dataset (e.g. one rendered with the old HOG windows and one with the new defaults), from the
shard rows alone: the single-track oracle vIoU (as stored), the ID + span answer ceiling (the rules
of `vctrain eval`, `vcprep.track.quality.answer_ceiling`), and for the matched target: share of
annotated frames matched, ID switches on the target, mean IoU and share of frames at IoU >= 0.5.

    PYTHONPATH=. python bench/bench_walkers_ceilings.py out/walkers_before out/walkers_after
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pyarrow.parquet as pq

from vcprep.core.geometry import box_iou_matrix
from vcprep.core.types import Tracks
from vcprep.dataset.reader import shard_paths
from vcprep.track.quality import answer_ceiling

COLUMNS = ["sample_id", "video_fps", "gt_span_seconds", "gt_frame_indices", "gt_boxes", "oracle_viou",
           "tube_frame_indices", "tube_pts_seconds", "tube_track_ids", "tube_boxes"]


def figures(root: str) -> dict[str, float]:
    seen, oracle, answer, matched, switches, ious = set(), [], [], [], [], []
    for path in shard_paths(root):
        for row in pq.read_table(path, columns=COLUMNS).to_pylist():
            if row["sample_id"] in seen or not row["gt_boxes"]:
                continue
            seen.add(row["sample_id"])
            n = len(row["tube_frame_indices"])
            tracks = Tracks(np.asarray(row["tube_frame_indices"], np.int64), np.asarray(row["tube_pts_seconds"]),
                            np.asarray(row["tube_track_ids"], np.int64),
                            np.asarray(row["tube_boxes"], np.float32).reshape(-1, 4), np.ones(n, np.float32),
                            np.zeros(n, np.int32))
            gt = {int(f): tuple(b) for f, b in zip(row["gt_frame_indices"], row["gt_boxes"])}
            oracle.append(row["oracle_viou"])
            answer.append(answer_ceiling(tracks, gt, tuple(row["gt_span_seconds"]), row["video_fps"]).viou)
            best_ids = []
            for f, box in gt.items():  # nearest tracked frame (the tube grid is coarser than the annotation)
                if n == 0:
                    matched.append(False)
                    ious.append(0.0)
                    continue
                near = int(tracks.frame_index[np.argmin(np.abs(tracks.frame_index - f))])
                here = tracks.at_frame(near)
                iou = box_iou_matrix(np.array([box]), here.xyxy)[0]
                k = int(np.argmax(iou))
                ok = abs(near - f) <= 2 and iou[k] > 0
                matched.append(bool(ok))
                ious.append(float(iou[k]) if ok else 0.0)
                if ok:
                    best_ids.append(int(here.track_id[k]))
            switches.append(sum(a != b for a, b in itertools.pairwise(best_ids)))
    ious_a = np.asarray(ious)
    return {"samples": len(seen), "oracle_viou": float(np.mean(oracle)), "answer_ceiling_viou": float(np.mean(answer)),
            "target_frames_matched": float(np.mean(matched)), "target_id_switches": float(np.mean(switches)),
            "target_mean_iou": float(ious_a.mean()), "target_frames_iou50": float((ious_a >= 0.5).mean())}


if __name__ == "__main__":
    for root in sys.argv[1:]:
        f = figures(root)
        print(f"| {root} | {f['samples']} | {f['oracle_viou']:.3f} | {f['answer_ceiling_viou']:.3f} | "
              f"{f['target_frames_matched']:.3f} | {f['target_id_switches']:.2f} | {f['target_mean_iou']:.3f} | "
              f"{f['target_frames_iou50']:.3f} |")
