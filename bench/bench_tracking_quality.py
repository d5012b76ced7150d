"""Tracking quality: HOTA / IDF1 / MOTA / recall of the demo recipe's tracker on
tests/fixtures/vtest_mot, before (raw HOG windows, no hole filling) and after each change, HOG and
the ssdlite detector, with the detector's time per frame and its ratio to the "before" row. The
machine is shared, so times are taken apart from the quality runs: `--rounds` rounds over every
setting in turn on the same 21 decoded frames, the median per setting (a burst of load then hits every setting alike).

    PYTHONPATH=. python bench/bench_tracking_quality.py [--media .cache/media] [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import copy
import os
from pathlib import Path

from report import write_section

from vcprep.core.config import load_pipeline
from vcprep.track.evaluate import evaluate_recipe

ROOT = Path(__file__).resolve().parents[1]
HOG = {"scale": 1.05, "min_confidence": 0.3}
PRIOR = {"priors": {"max_height_fraction": 0.4}}
OLD_TRACKER = {"frame_rate": 5.0, "lost_track_buffer": 10, "track_activation_threshold": 0.5,
               "high_conf_det_threshold": 0.5, "minimum_consecutive_frames": 2}
NEW_TRACKER = {"frame_rate": 5.0, "lost_track_buffer": 20, "track_activation_threshold": 0.2,
               "high_conf_det_threshold": 0.2, "minimum_consecutive_frames": 1, "minimum_iou_threshold": 0.1}
# (row name, detector name, detector params, ByteTrack params, hole filling, birth backfill frames)
SETTINGS: list[tuple[str, str, dict, dict, int, int]] = [
    ("before: raw 64x128 windows, no hole filling", "hog",
     {**HOG, "margin_x_fraction": 0.0, "margin_y_fraction": 0.0}, OLD_TRACKER, 0, 0),
    ("HOG: window margin removed (0.25 w, 0.125 h)", "hog", HOG, OLD_TRACKER, 0, 0),
    ("HOG: + fill holes of <= 2 tracked frames", "hog", HOG, OLD_TRACKER, 2, 0),
    ("HOG: + prior height <= 0.4 frame (last session's default)", "hog", {**HOG, **PRIOR}, OLD_TRACKER, 2, 0),
    ("HOG: + resize 2", "hog", {**HOG, **PRIOR, "resize": 2.0}, OLD_TRACKER, 2, 0),
    ("HOG: default + first box of each track kept", "hog", {**HOG, **PRIOR}, OLD_TRACKER, 2, 2),
    ("ssdlite whole frame (1 tile), old tracker", "ssdlite", {**PRIOR, "tiles": [1, 1]}, OLD_TRACKER, 2, 0),
    ("ssdlite 2x2 tiles, old tracker", "ssdlite", {**PRIOR, "tiles": [2, 2]}, OLD_TRACKER, 2, 0),
    ("ssdlite 3x2 tiles, old tracker", "ssdlite", PRIOR, OLD_TRACKER, 2, 0),
    ("ssdlite 3x2 + first box kept", "ssdlite", PRIOR, OLD_TRACKER, 2, 2),
    ("ssdlite 3x2 + first box kept + ByteTrack 0.2 / buffer 20", "ssdlite", PRIOR, NEW_TRACKER, 2, 2),
    ("ssdlite 3x2 + ... + fill 5 (**the new demo default**)", "ssdlite", PRIOR, NEW_TRACKER, 5, 2),
    ("ssdlite 4x2 tiles + ... + fill 5", "ssdlite", {**PRIOR, "tiles": [4, 2]}, NEW_TRACKER, 5, 2),
]


def detector_ms(media: str, rounds: int) -> list[float]:
    """Median ms a frame of each setting's detector, interleaved over `rounds` rounds."""
    import time

    import numpy as np

    from vcprep.decode.video import read_frames
    from vcprep.track.detectors import build_detector
    from vcprep.track.evaluate import MotGroundTruth

    gt = MotGroundTruth.load(ROOT / "tests" / "fixtures" / "vtest_mot" / "gt.txt")
    images = [f.image for f in read_frames(Path(media) / "vtest.avi", gt.frames())]
    detectors = [build_detector(name, params) for _, name, params, _, _, _ in SETTINGS]
    times: list[list[float]] = [[] for _ in SETTINGS]
    for _ in range(rounds):
        for k, det in enumerate(detectors):
            t0 = time.perf_counter()
            for image in images:
                det.detect(image)
            times[k].append((time.perf_counter() - t0) * 1000 / len(images))
    return [float(np.median(t)) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--media", default=os.environ.get("VCPREP_MEDIA", str(ROOT / ".cache" / "media")))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    cfg = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    cfg.source.data_root = args.media
    lines = ["| setting | HOTA | IDF1 | MOTA | recall@0.5 | precision | ms / frame | time vs before |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    ms_by_setting = detector_ms(args.media, args.rounds)
    base_ms = ms_by_setting[0]
    for (row, name, params, tracker, fill, backfill), ms in zip(SETTINGS, ms_by_setting):
        c = copy.deepcopy(cfg)
        c.detector.name, c.detector.params, c.tracker.params = name, params, tracker
        c.postprocess.fill_gaps_max_frames = fill
        r = evaluate_recipe(c, "vtest.avi", ROOT / "tests" / "fixtures" / "vtest_mot" / "gt.txt",
                            backfill_frames=backfill)
        rep = r.report
        lines.append(f"| {row} | {rep.hota:.3f} | {rep.idf1:.3f} | {rep.mota:.3f} | {rep.recall:.3f} | "
                     f"{rep.precision:.3f} | {ms:.0f} | {ms / base_ms:.2f}x |")
        print(lines[-1], flush=True)
    if args.write:
        body = INTRO.format(rounds=args.rounds) + "\n".join(lines) + "\n"
        write_section("Tracking quality against ground truth", body)


INTRO = """The demo recipe's sampling (ByteTrack at 5 fps, 51 tracked frames) on `tests/fixtures/vtest_mot` (vtest.avi
frames 0-100, 7 people, 118 hand-checked boxes at 2 fps); metrics from `trackers.eval` (TrackEval-compatible);
recall = share of ground-truth boxes matched at IoU >= 0.5. "Old tracker": ByteTrack 0.5 / 0.5 thresholds, 2
consecutive frames, buffer 10; "first box kept": the tracking loop's birth backfill (`backfill_frames=2`). Time =
detector ms a frame (768x576), median of {rounds} interleaved rounds over all settings; "time vs before" against
the first row, measured in the same rounds.

"""


if __name__ == "__main__":
    main()
