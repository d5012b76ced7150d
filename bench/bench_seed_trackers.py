"""Single-object trackers for `postprocess.seed_targets`: OpenCV's MIL against template matching, on bikes.mp4.

Each hand-boxed object of tests/fixtures/vidstg_bikes is seeded with its drawn box on one frame and
followed forward and backward every 5 frames (5 fps) to the ends of its boxes; each tracker box is
compared with the drawn one (IoU). Template matching: normalised cross-correlation of the seed crop
within a window of half the box around the last position (lost below 0.3).

    PYTHONPATH=. python bench/bench_seed_trackers.py [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
from report import publish

from vcprep.core.geometry import box_iou_matrix
from vcprep.decode.video import read_frames
from vcprep.track.seeding import MILFollower

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Seeding a target"
CASES = {1: ("grey van", 100), 2: ("parked bicycle", 205), 3: ("cyclist", 118)}


class TemplateFollower:
    def __init__(self, image: np.ndarray, xyxy: list[float]) -> None:
        self.box = np.asarray(xyxy, float)
        x0, y0, x1, y1 = (int(v) for v in xyxy)
        self.template = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1]

    def update(self, image: np.ndarray) -> tuple[float, float, float, float] | None:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = self.template.shape
        margin = int(max(w, h) * 0.5)
        x0, y0 = max(0, int(self.box[0]) - margin), max(0, int(self.box[1]) - margin)
        x1, y1 = min(gray.shape[1], int(self.box[2]) + margin), min(gray.shape[0], int(self.box[3]) + margin)
        window = gray[y0:y1, x0:x1]
        if window.shape[0] < h or window.shape[1] < w:
            return None
        _, best, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(window, self.template, cv2.TM_CCOEFF_NORMED))
        if best < 0.3:
            return None
        self.box = np.array([x0 + x, y0 + y, x0 + x + w, y0 + y + h], float)
        return tuple(self.box)  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    vidor = json.loads((ROOT / "tests/fixtures/vidstg_bikes/vidor_annotations/0000/bikes.json").read_text())
    drawn = {tid: {f: [o["bbox"][k] for k in ("xmin", "ymin", "xmax", "ymax")]
                   for f, objs in enumerate(vidor["trajectories"]) for o in objs if o["tid"] == tid} for tid in CASES}
    media = Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache/media"))
    frames = {fr.frame_index: fr.image for fr in read_frames(media / "bikes.mp4", list(range(250)))}
    results: dict[tuple[str, int], tuple[list[float], float]] = {}
    for make in (MILFollower, TemplateFollower):
        for tid, (name, seed) in CASES.items():
            lo, hi = min(drawn[tid]), max(drawn[tid])
            ious, n, t0 = [], 0, time.perf_counter()
            for step in (5, -5):
                follower = make(frames[seed], drawn[tid][seed])
                for f in range(seed + step, hi + 1 if step > 0 else lo - 1, step):
                    box = follower.update(frames[f])
                    n += 1
                    ious.append((f, 0.0 if box is None else float(
                        box_iou_matrix(np.array([box], np.float32), np.array([drawn[tid][f]], np.float32))[0, 0])))
            ms = (time.perf_counter() - t0) / max(n, 1) * 1000
            results[(make.__name__, tid)] = ([i for _, i in sorted(ious)], ms)
            per_frame = " ".join(f"{f}:{i:.2f}" for f, i in sorted(ious))
            print(f"{make.__name__:16s} {name:15s} seed {seed}: IoU {min(i for _, i in ious):.2f}-"
                  f"{max(i for _, i in ious):.2f}, {ms:.0f} ms/frame; {per_frame}")
    lines = ["Each hand-boxed object of `tests/fixtures/vidstg_bikes` seeded with its drawn box on one frame and "
             "followed forward and backward every 5 frames (5 fps) to the ends of its drawn boxes; box IoU with "
             "the drawn box on each frame, and the time a frame.", "",
             "| target (seed frame) | MIL IoU min / mean | MIL ms a frame | template IoU min / mean | template ms |",
             "|---|---|---|---|---|"]
    for tid, (name, seed) in CASES.items():
        (mil, mil_ms), (tpl, tpl_ms) = results[("MILFollower", tid)], results[("TemplateFollower", tid)]
        lines.append(f"| {name} ({seed}) | {min(mil):.2f} / {np.mean(mil):.2f} | {mil_ms:.0f} | "
                     f"{min(tpl):.2f} / {np.mean(tpl):.2f} | {tpl_ms:.0f} |")
    body = "\n".join(lines)
    publish(SECTION, body, write=args.write)


if __name__ == "__main__":
    main()
