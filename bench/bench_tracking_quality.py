"""Tracking quality (issue 16): HOTA / IDF1 / MOTA / recall of the demo recipe's tracker on
tests/fixtures/vtest_mot, before (raw HOG windows, no hole filling) and after each change, with the
detector's time per frame and its ratio to the "before" row. The machine is shared, so times are
taken apart from the quality runs: `--rounds` rounds over every setting in turn on the same 21
decoded frames, the median per setting (a burst of load then hits every setting alike).

    PYTHONPATH=. python bench/bench_tracking_quality.py [--media .cache/media]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from vcprep.core.config import load_pipeline
from vcprep.track.evaluate import evaluate_recipe

ROOT = Path(__file__).resolve().parents[1]
BASE = {"scale": 1.05, "min_confidence": 0.3}
PRIOR = {"priors": {"max_height_fraction": 0.4}}
SETTINGS: list[tuple[str, dict, int]] = [
    ("before: raw 64x128 windows, no hole filling", {"margin_x_fraction": 0.0, "margin_y_fraction": 0.0}, 0),
    ("window margin removed (0.25 w, 0.125 h)", {}, 0),
    ("+ fill holes of <= 2 tracked frames", {}, 2),
    ("+ prior height <= 0.4 frame (the new demo default)", PRIOR, 2),
    ("+ padding 32", {**PRIOR, "padding": 32}, 2),
    ("+ min_confidence 0", {**PRIOR, "min_confidence": 0.0}, 2),
    ("+ resize 1.5", {**PRIOR, "resize": 1.5}, 2),
    ("+ resize 2", {**PRIOR, "resize": 2.0}, 2),
    ("+ resize 2, padding 32, min_confidence 0", {**PRIOR, "resize": 2.0, "padding": 32, "min_confidence": 0.0}, 2),
]


def detector_ms(media: str, rounds: int) -> list[float]:
    """Median ms a frame of each setting's detector, interleaved over `rounds` rounds."""
    import time

    import numpy as np

    from vcprep.decode.video import read_frames
    from vcprep.track.detectors.hog import HOGPersonDetector
    from vcprep.track.evaluate import MotGroundTruth

    gt = MotGroundTruth.load(ROOT / "tests" / "fixtures" / "vtest_mot" / "gt.txt")
    images = [f.image for f in read_frames(Path(media) / "vtest.avi", gt.frames())]
    detectors = [HOGPersonDetector(**{**BASE, **params}) for _, params, _ in SETTINGS]
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
    parser.add_argument("--media", default=str(ROOT / ".cache" / "media"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cfg = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    cfg.source.data_root = args.media
    print("| setting | HOTA | IDF1 | MOTA | recall@0.5 | precision | ms / frame | time vs before |")
    print("|---|---|---|---|---|---|---|---|")
    ms_by_setting = detector_ms(args.media, args.rounds)
    base_ms = ms_by_setting[0]
    for (name, params, fill), ms in zip(SETTINGS, ms_by_setting):
        c = copy.deepcopy(cfg)
        c.detector.params = {**BASE, **params}
        c.postprocess.fill_gaps_max_frames = fill
        r = evaluate_recipe(c, "vtest.avi", ROOT / "tests" / "fixtures" / "vtest_mot" / "gt.txt")
        rep = r.report
        print(f"| {name} | {rep.hota:.3f} | {rep.idf1:.3f} | {rep.mota:.3f} | {rep.recall:.3f} | "
              f"{rep.precision:.3f} | {ms:.0f} | {ms / base_ms:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
