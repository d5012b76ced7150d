"""Multi-class detection and tracking, in one run: per-class recall at IoU 0.5 (the detector alone), HOTA and
IDF1 per class (the VidSTG recipe's tracker on the detector's boxes), and the detector's time per frame,
for `ssdlite`, `nanodet` (OpenCV DNN and onnxruntime, two score thresholds) and `ssdlite_nanodet`, on the
hand-checked multi-class ground truth (tests/fixtures/multiclass_mot: Megamind.avi, bikes.mp4) and the
person ground truth of the vtest recipe (tests/fixtures/vtest_mot, with demo.yaml as bench_tracking_quality
runs it). Times: `--rounds` rounds over every setting in turn on the same decoded frames, median per setting
(the machine is shared: a burst of load then hits every setting alike), ratio to `ssdlite`.

    PYTHONPATH=. python bench/bench_multiclass.py [--media .cache/media] [--rounds 3]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from vcprep.core.classes import COCO_80
from vcprep.core.config import PipelineConfig, load_pipeline
from vcprep.core.geometry import box_iou_matrix
from vcprep.track.evaluate import MotGroundTruth, evaluate_recipe, evaluate_tracks, tracks_of_class

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CLIPS = [("Megamind.avi", FIXTURES / "multiclass_mot" / "Megamind.txt"),
         ("bikes.mp4", FIXTURES / "multiclass_mot" / "bikes.txt")]
VTEST = ("vtest.avi", FIXTURES / "vtest_mot" / "gt.txt")
LOW = {"min_confidence": 0.25}
# (row, detector name, params on the multi-class clips, params on vtest: the person recipe's)
DEMO_SSDLITE = {"priors": {"max_height_fraction": 0.4}}
SETTINGS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("ssdlite (baseline, people only)", "ssdlite", {}, DEMO_SSDLITE),
    ("nanodet, OpenCV DNN, score >= 0.35", "nanodet", {}, {}),
    ("nanodet, onnxruntime, score >= 0.35", "nanodet", {"runtime": "onnxruntime"}, {"runtime": "onnxruntime"}),
    ("nanodet, OpenCV DNN, score >= 0.25", "nanodet", LOW, LOW),
    ("ssdlite_nanodet (0.35)", "ssdlite_nanodet", {}, {"ssdlite": DEMO_SSDLITE}),
    ("ssdlite_nanodet (0.25)", "ssdlite_nanodet", {"nanodet": LOW}, {"ssdlite": DEMO_SSDLITE, "nanodet": LOW}),
]


def detection_recall(detector: Any, images: list[np.ndarray], frames: np.ndarray, gt: MotGroundTruth,
                     class_id: int) -> tuple[int, int]:
    """(matched, total) ground-truth boxes of one class, matched one-to-one at IoU >= 0.5 by boxes of that class."""
    hits = total = 0
    for image, frame in zip(images, frames):
        here = (gt.frame_index == frame) & (gt.class_id == class_id if gt.class_id is not None else True)
        truth = gt.xyxy[here]
        found = detector.detect(image)
        boxes = found.xyxy[np.asarray(found.class_id) == class_id]
        total += len(truth)
        if len(truth) and len(boxes):
            iou = box_iou_matrix(truth, boxes)
            rows, cols = linear_sum_assignment(-iou)
            hits += int((iou[rows, cols] >= 0.5).sum())
    return hits, total


def recipe(path: Path, media: str, name: str, params: dict[str, Any]) -> PipelineConfig:
    cfg = copy.deepcopy(load_pipeline(path))
    cfg.source.data_root = media
    cfg.detector.name, cfg.detector.params = name, params
    return cfg


def main() -> None:
    from vcprep.decode.video import read_frames
    from vcprep.track.detectors import build_detector

    parser = argparse.ArgumentParser()
    parser.add_argument("--media", default=str(ROOT / ".cache" / "media"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    clips = [(video, MotGroundTruth.load(path)) for video, path in [*CLIPS, VTEST]]
    images = {video: [f.image for f in read_frames(Path(args.media) / video, gt.frames())] for video, gt in clips}
    classes = [(video, int(c)) for video, gt in clips[:-1] for c in np.unique(np.asarray(gt.class_id))]

    # quality: detection recall per class, tracking per class, vtest people
    rows = []
    for row, name, params, vtest_params in SETTINGS:
        detector = build_detector(name, params)
        per_class = {}
        for video, c in classes:
            gt = dict(clips)[video]
            hits, total = detection_recall(detector, images[video], gt.frames(), gt, c)
            per_class[(video, c)] = [hits / total]
        for video, path in CLIPS:
            gt = MotGroundTruth.load(path)
            run = evaluate_recipe(recipe(ROOT / "pipelines" / "vidstg.yaml", args.media, name, params), video, path)
            assert run.tracks is not None
            for c in np.unique(np.asarray(gt.class_id)):
                report = evaluate_tracks(tracks_of_class(run.tracks, int(c)), gt.of_class(int(c)), max_gap_frames=10)
                per_class[(video, int(c))] += [report.hota, report.idf1]
        people = evaluate_recipe(recipe(ROOT / "pipelines" / "demo.yaml", args.media, name, vtest_params), *VTEST)
        assert people.tracks is not None
        # vtest is 10 fps tracked at 5: boxes interpolate over 2 track steps, as evaluate_recipe scores them
        vtest = evaluate_tracks(tracks_of_class(people.tracks, 0), MotGroundTruth.load(VTEST[1]), max_gap_frames=4)
        rows.append((row, per_class, vtest))
        print(f"done: {row}", flush=True)

    # time: every setting in turn, `rounds` times, on the same decoded frames of the three clips
    detectors = [build_detector(name, params) for _, name, params, _ in SETTINGS]
    all_images = [im for video, _ in clips for im in images[video]]
    times: list[list[float]] = [[] for _ in SETTINGS]
    for _ in range(args.rounds):
        for k, det in enumerate(detectors):
            t0 = time.perf_counter()
            for image in all_images:
                det.detect(image)
            times[k].append((time.perf_counter() - t0) * 1000 / len(all_images))
    ms = [float(np.median(t)) for t in times]

    print(f"\nDetection time on {len(all_images)} frames (median of {args.rounds} rounds); vtest people (demo recipe);"
          " multi-class means over the classes below")
    print("| setting | ms / frame | vs ssdlite | vtest HOTA | vtest IDF1 | vtest recall@0.5 "
          "| mean recall@0.5 | mean HOTA | mean IDF1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (row, per_class, vtest), t in zip(rows, ms):
        means = np.mean(np.array(list(per_class.values())), axis=0)
        print(f"| {row} | {t:.0f} | {t / ms[0]:.2f}x | {vtest.hota:.3f} | {vtest.idf1:.3f} | {vtest.recall:.3f} "
              f"| {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} |")
    for k, label in enumerate(("Detection recall at IoU 0.5", "HOTA (tracked)", "IDF1 (tracked)")):
        print(f"\n{label}, per class")
        print("| setting | " + " | ".join(f"{COCO_80[c]} ({video})" for video, c in classes) + " |")
        print("|---|" + "---|" * len(classes))
        for row, per_class, _ in rows:
            print(f"| {row} | " + " | ".join(f"{per_class[key][k]:.2f}" for key in classes) + " |")


if __name__ == "__main__":
    main()
