"""Peak memory of the `sam3` tracker per minute of video: chunked sessions against one whole-clip session.

The tiny randomly initialised SAM 3 (`vcprep.track.trackers.sam3_tiny`, 56 px) tracks `person` over
vtest.avi at 5 fps. Each mode runs in its own process: the frames are decoded and the model loaded
first (that process's peak RSS so far is the mode's baseline), then the clip is tracked and the peak RSS
read again; the growth divided by the clip's length is the memory per minute of video. The baseline mode
is `chunk_frames` larger than the clip (one SAM 3 session for everything, what the model does by itself).

    PYTHONPATH=. python bench/bench_sam3_memory.py [--frames 40] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from report import publish

ROOT = Path(__file__).resolve().parents[1]
SECTION = "SAM 3 memory on long clips"
STEP = 2  # vtest.avi is 10 fps: every second frame, 5 fps


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(checkpoint: str, frames: int, chunk_frames: int) -> dict[str, float]:
    """One mode, in this process: peak RSS before and after tracking `frames` frames."""
    import time

    from vcprep.decode.video import read_frames
    from vcprep.track.trackers import PhraseTracker, build_tracker

    media = Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache/media"))
    decoded = list(read_frames(media / "vtest.avi", np.arange(0, frames * STEP, STEP)))
    tracker = build_tracker("sam3", {"checkpoint": checkpoint, "device": "cpu", "chunk_frames": chunk_frames,
                                     "min_mask_pixels": 1})
    assert isinstance(tracker, PhraseTracker)
    bound = tracker.for_phrases(["person"])
    before = _peak_mib()
    t0 = time.perf_counter()
    tracks = bound.track(iter(decoded), lambda frame: None)
    return {"before_mib": before, "after_mib": _peak_mib(), "seconds": time.perf_counter() - t0,
            "boxes": float(len(tracks)), "ids": float(len(set(tracks.track_id.tolist())))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--chunk-frames", type=int, default=8)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    ap.add_argument("--child", nargs=2, metavar=("CHECKPOINT", "CHUNK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.frames, int(args.child[1]))))
        return
    from vcprep.track.trackers.sam3_tiny import tiny_sam3_checkpoint

    video_minutes = args.frames * STEP / 10.0 / 60
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = str(tiny_sam3_checkpoint(Path(tmp)))
        results = {}
        modes = (("whole clip (baseline)", args.frames + 1), (f"chunks of {args.chunk_frames}", args.chunk_frames))
        for name, chunk in modes:
            command = [sys.executable, __file__, "--frames", str(args.frames), "--child", checkpoint, str(chunk)]
            proc = subprocess.run(command, capture_output=True, text=True, check=True,
                                  env={**os.environ, "HF_HUB_OFFLINE": "1"})
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(name, results[name])
    base = results["whole clip (baseline)"]
    lines = [f"The tiny random SAM 3 (`sam3_tiny`, 56 px, about 5 M parameters) tracking `person` on "
             f"{args.frames} frames of vtest.avi at 5 fps ({video_minutes * 60:.0f} s of video), each mode in its own "
             "process; growth = peak RSS after tracking minus peak RSS with the frames decoded and the model loaded.",
             "", "| mode | peak RSS before | peak RSS after | growth | growth per minute of video | vs whole clip "
             "| s a frame |",
             "|---|---|---|---|---|---|---|"]
    base_growth = max(base["after_mib"] - base["before_mib"], 1e-9)
    for name, r in results.items():
        growth = r["after_mib"] - r["before_mib"]
        lines.append(f"| {name} | {r['before_mib']:.0f} MiB | {r['after_mib']:.0f} MiB | {growth:.0f} MiB | "
                     f"{growth / video_minutes:.0f} MiB | {growth / base_growth:.2f}x | "
                     f"{r['seconds'] / args.frames:.2f} |")
    body = "\n".join(lines)
    publish(SECTION, body, write=args.write)


if __name__ == "__main__":
    main()
