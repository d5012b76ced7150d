"""Multi-class detection and tracking, in one run: per-class recall at IoU 0.5 (the detector alone), HOTA and
IDF1 per class (the VidSTG recipe's tracker on the detector's boxes), and the detector's time per frame,
for `ssdlite`, `nanodet` (OpenCV DNN and onnxruntime, two score thresholds) and `ssdlite_nanodet`, on the
hand-checked multi-class ground truth (tests/fixtures/multiclass_mot: Megamind.avi, bikes.mp4) and the
person ground truth of the vtest recipe (tests/fixtures/vtest_mot, with demo.yaml as bench_tracking_quality
runs it). Times: `--rounds` rounds over every setting in turn on the same decoded frames, median per setting
(the machine is shared: a burst of load then hits every setting alike), ratio to `ssdlite`. The quality
figures do not depend on load, so `--settings` / `--rounds 0` / `--no-quality` split them over runs;
the times always come from one run of every setting.

    PYTHONPATH=. python bench/bench_multiclass.py [--media .cache/media] [--rounds 3] [--settings 0,1] [--no-quality]
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import write_section
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
LOW, HIGH = {"min_confidence": 0.25}, {"min_confidence": 0.35}  # nanodet's default, and upstream demo's
# (row, detector name, params on the multi-class clips, params on vtest: the person recipe's)
DEMO_SSDLITE = {"priors": {"max_height_fraction": 0.4}}
SETTINGS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("ssdlite (baseline, people only)", "ssdlite", {}, DEMO_SSDLITE),
    ("nanodet, OpenCV DNN, score >= 0.35", "nanodet", HIGH, HIGH),
    ("nanodet, onnxruntime, score >= 0.35", "nanodet", {**HIGH, "runtime": "onnxruntime"},
     {**HIGH, "runtime": "onnxruntime"}),
    ("nanodet, OpenCV DNN, score >= 0.25 (default)", "nanodet", LOW, LOW),
    ("ssdlite_nanodet (0.35)", "ssdlite_nanodet", {"nanodet": HIGH}, {"ssdlite": DEMO_SSDLITE, "nanodet": HIGH}),
    ("ssdlite_nanodet (0.25)", "ssdlite_nanodet", {"nanodet": LOW}, {"ssdlite": DEMO_SSDLITE, "nanodet": LOW}),
]


def detection_recall(found: list[Any], frames: np.ndarray, gt: MotGroundTruth, class_id: int) -> tuple[int, int]:
    """(matched, total) ground-truth boxes of one class, matched one-to-one at IoU >= 0.5 by the detections
    (`found`, one `sv.Detections` per frame of `frames`) of that class."""
    hits = total = 0
    for detections, frame in zip(found, frames):
        truth = gt.of_class(class_id).xyxy[gt.of_class(class_id).frame_index == frame]
        boxes = detections.xyxy[np.asarray(detections.class_id) == class_id]
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


def quality(setting: tuple[str, str, dict[str, Any], dict[str, Any]], media: str,
            images: dict[str, list[np.ndarray]], classes: list[tuple[str, int]]) -> tuple[dict, Any]:
    """One setting: {(clip, class): [detection recall, HOTA, IDF1]}, and its vtest person report."""
    from vcprep.track.detectors import build_detector

    _, name, params, vtest_params = setting
    detector = build_detector(name, params)
    per_class: dict[tuple[str, int], list[float]] = {}
    for video, path in CLIPS:
        gt = MotGroundTruth.load(path)
        found = [detector.detect(image) for image in images[video]]
        run = evaluate_recipe(recipe(ROOT / "pipelines" / "vidstg.yaml", media, name, params), video, path)
        assert run.tracks is not None
        for clip, c in classes:
            if clip != video:
                continue
            hits, total = detection_recall(found, gt.frames(), gt, c)
            report = evaluate_tracks(tracks_of_class(run.tracks, c), gt.of_class(c), max_gap_frames=10)
            per_class[(video, c)] = [hits / total, report.hota, report.idf1]
    people = evaluate_recipe(recipe(ROOT / "pipelines" / "demo.yaml", media, name, vtest_params), *VTEST)
    assert people.tracks is not None
    # vtest is 10 fps tracked at 5: boxes interpolate over 2 track steps, as evaluate_recipe scores them
    return per_class, evaluate_tracks(tracks_of_class(people.tracks, 0), MotGroundTruth.load(VTEST[1]),
                                      max_gap_frames=4)


def timing(images: list[np.ndarray], rounds: int) -> tuple[list[float], list[float]]:
    """Median wall and CPU ms a frame of every setting's detector, interleaved over `rounds` rounds. CPU time
    (all threads of this process) is the steadier figure on a shared machine: others' load stretches wall
    time, and OpenCV DNN's two threads (ssdlite, nanodet) more than a single-threaded step."""
    from vcprep.track.detectors import build_detector

    detectors = [build_detector(name, params) for _, name, params, _ in SETTINGS]
    wall: list[list[float]] = [[] for _ in SETTINGS]
    cpu: list[list[float]] = [[] for _ in SETTINGS]
    for _ in range(rounds):
        for k, det in enumerate(detectors):
            t0, c0 = time.perf_counter(), time.process_time()
            for image in images:
                det.detect(image)
            wall[k].append((time.perf_counter() - t0) * 1000 / len(images))
            cpu[k].append((time.process_time() - c0) * 1000 / len(images))
    return [float(np.median(t)) for t in wall], [float(np.median(t)) for t in cpu]


def main() -> None:
    from vcprep.decode.video import read_frames

    parser = argparse.ArgumentParser()
    parser.add_argument("--media", default=os.environ.get("VCPREP_MEDIA", str(ROOT / ".cache" / "media")))
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds over every setting; 0: no timing")
    parser.add_argument("--settings", default=",".join(str(k) for k in range(len(SETTINGS))),
                        help="indices of SETTINGS whose quality is measured")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--time-frames", type=int, default=0, help="time on this many frames, evenly spread; 0: all")
    args = parser.parse_args()
    chosen = [] if args.no_quality else [int(k) for k in args.settings.split(",")]
    clips = [(video, MotGroundTruth.load(path)) for video, path in [*CLIPS, VTEST]]
    images = {video: [f.image for f in read_frames(Path(args.media) / video, gt.frames())] for video, gt in clips}
    classes = [(video, int(c)) for video, gt in clips[:-1] for c in np.unique(np.asarray(gt.class_id))]
    lines: list[str] = []
    rows = []
    for k in chosen:
        rows.append((SETTINGS[k][0], *quality(SETTINGS[k], args.media, images, classes)))
        print(f"done: {SETTINGS[k][0]}", flush=True)
    if args.rounds:
        all_images = [im for video, _ in clips for im in images[video]]
        if args.time_frames:
            all_images = [all_images[k] for k in np.linspace(0, len(all_images) - 1, args.time_frames).astype(int)]
        wall, cpu = timing(all_images, args.rounds)
        lines += [f"Detection time on {len(all_images)} frames of the three clips, median of {args.rounds} rounds:", "",
                  "| setting | CPU ms / frame | vs ssdlite | wall ms / frame | vs ssdlite |", "|---|---|---|---|---|"]
        lines += [f"| {row} | {c:.0f} | {c / cpu[0]:.2f}x | {w:.0f} | {w / wall[0]:.2f}x |"
                  for (row, *_), c, w in zip(SETTINGS, cpu, wall)]
        lines.append("")
    if rows:
        lines += report(rows, classes)
    print("\n".join(lines))
    if args.write:
        write_section("Multi-class detection", INTRO + "\n".join(lines))


def report(rows: list[tuple[str, dict, Any]], classes: list[tuple[str, int]]) -> list[str]:
    lines = ["vtest people (demo recipe); multi-class: means over the classes below:", "",
             "| setting | vtest HOTA | vtest IDF1 | vtest recall@0.5 | mean recall@0.5 | mean HOTA | mean IDF1 |",
             "|---|---|---|---|---|---|---|"]
    for row, per_class, vtest in rows:
        means = np.mean(np.array([per_class[key] for key in classes]), axis=0)
        lines.append(f"| {row} | {vtest.hota:.3f} | {vtest.idf1:.3f} | {vtest.recall:.3f} "
                     f"| {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} |")
    for k, label in enumerate(("Detection recall at IoU 0.5", "HOTA (tracked)", "IDF1 (tracked)")):
        lines += ["", f"{label}, per class:", "",
                  "| setting | " + " | ".join(f"{COCO_80[c]} ({video})" for video, c in classes) + " |",
                  "|---|" + "---|" * len(classes)]
        lines += [f"| {row} | " + " | ".join(f"{per_class[key][k]:.2f}" for key in classes) + " |"
                  for row, per_class, _ in rows]
    return lines


INTRO = """`tests/fixtures/multiclass_mot` (hand-checked: Megamind.avi 10.4 s at 2.4 fps, bikes.mp4 4 s at 2.5 fps;
its README says how it was made). Recall: the detector alone on the annotated frames, one-to-one at IoU >= 0.5 with
boxes of the same class. HOTA / IDF1: `pipelines/vidstg.yaml`'s tracker (ByteTrack at 5 fps) on the detector's
boxes, a track scored in its majority class. vtest: the person recipe (`demo.yaml`) on `tests/fixtures/vtest_mot`,
person tracks only. Baseline: `ssdlite`, in the same run.

"""


if __name__ == "__main__":
    main()
