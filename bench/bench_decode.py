"""Which video reader should be the default? Times the three readers on the same requests.

Two access patterns on real media: sequential (every frame of a 30 s span, as the tracker
reads) and sparse (32 frames spread over the video, as sampling for the model reads).
Baseline: OpenCV's VideoCapture (opencv-python is on the design card). Writes the
"## Decoding" section of BENCHMARKS.md.

    python bench/bench_decode.py [--media .cache/media] [--write]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from report import write_section

from vcprep.decode.video import probe, read_frames, sample_frame_indices

ROOT = Path(__file__).resolve().parents[1]


def timed(path: Path, indices: np.ndarray, backend: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = sum(1 for _ in read_frames(path, indices, backend=backend))
        best = min(best, time.perf_counter() - t0)
        assert n == len(indices)
    return best


def main() -> str:
    ap = argparse.ArgumentParser()
    ap.add_argument("--media", type=Path, default=Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache" / "media")))
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    lines = ["| video | pattern | frames | cv2 ms/frame | av ms/frame (x cv2) | decord ms/frame (x cv2) |",
             "|---|---|---|---|---|---|"]
    for name in ("vtest.avi", "bikes.mp4"):
        path = args.media / name
        info = probe(path)
        patterns = {
            "sequential": np.arange(0, min(info.frame_count, int(30 * info.fps))),
            "sparse (32 over video)": sample_frame_indices(info=info, fps=info.fps, max_frames=32),
        }
        for pattern, idx in patterns.items():
            t = {b: timed(path, idx, b) / len(idx) * 1e3 for b in ("cv2", "av", "decord")}
            lines.append(
                f"| {name} ({info.width}x{info.height}) | {pattern} | {len(idx)} | {t['cv2']:.2f} | "
                f"{t['av']:.2f} ({t['av'] / t['cv2']:.2f}x) | {t['decord']:.2f} ({t['decord'] / t['cv2']:.2f}x) |"
            )
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section("Decoding", SECTION_INTRO + table + SECTION_OUTRO)
    return table


SECTION_INTRO = """Readers timed on the same frame requests in one run (best of 3, 2-core CPU machine).
Baseline: OpenCV `VideoCapture` (`cv2`). Produced by `python bench/bench_decode.py --write`.

"""
SECTION_OUTRO = """

Decision: `cv2` stays the default (`decode.backend`), as it is the fastest for the sequential
reads that dominate tracking. `av` (PyAV) is the choice when exact container timestamps
matter (variable frame rate); `decord` is kept as a selectable option from the design card.
"""


if __name__ == "__main__":
    main()
