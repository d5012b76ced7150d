"""Render time of one video with 1, 5 and 20 queries: this checkout against an older one, same run.

The recipe is each checkout's own demo recipe (its detector as shipped + ByteTrack at 5 fps, five variants) on
vtest.avi, with N queries whose clips are spread over the video the way VidSTG asks several
questions of one video. Each setting runs `vcprep render` in a fresh process (imports and model
building included), the two checkouts alternating, and the median wall time is reported.

    python bench/bench_queries.py --repeats 3 [--write]          # before = commit 6b4d57c, extracted by git archive
    python bench/bench_queries.py --before /path/to/older/checkout   # any other checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
BEFORE_COMMIT = "6b4d57c"  # the last commit before per-stage tracking and one decoding pass per video
MEDIA = Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache" / "media"))


def queries(n: int) -> list[dict]:
    """N queries on vtest.avi (79.5 s): 8 s clips whose starts step through the video."""
    out = []
    for i in range(n):
        start = (i * 7.3) % 70.0
        out.append({"id": f"q{i:02d}", "video": "vtest.avi", "question": f"Who walks past? ({i})",
                    "span_seconds": [start + 2.0, start + 6.0], "clip_seconds": [start, start + 8.0]})
    return out


def write_recipe(folder: Path, checkout: Path, n: int) -> Path:
    """The checkout's demo recipe (its detector settings as shipped) with N queries."""
    recipe = yaml.safe_load((checkout / "pipelines" / "demo.yaml").read_text())
    (folder / "ann.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries(n)))
    recipe["source"].update(annotations="ann.jsonl", data_root=str(MEDIA))
    path = folder / f"recipe-{abs(hash(str(checkout)))}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def render_seconds(checkout: Path, recipe: Path, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "render", str(recipe), "--out", str(out), "-q"],
                          env=env, cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"render in {checkout} failed ({done.returncode}):\n{tail}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="checkout of the older code (default: --before-commit)")
    parser.add_argument("--before-commit", default=BEFORE_COMMIT, help="commit extracted as the older code")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--queries", default="1,5,20")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        before = args.before
        if before is None:  # the named commit's files, without touching the repository's worktrees
            before = Path(tmp) / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before_commit], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        for n in (int(q) for q in args.queries.split(",")):
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            checkouts = {"before": before.resolve(), "after": ROOT}
            recipes = {name: write_recipe(folder, checkout, n) for name, checkout in checkouts.items()}
            times: dict[str, list[float]] = {"before": [], "after": []}
            for r in range(args.repeats):
                for name in ("before", "after")[:: 1 if r % 2 == 0 else -1]:
                    times[name].append(render_seconds(checkouts[name], recipes[name], folder / f"out-{name}-{r}"))
            before, after = statistics.median(times["before"]), statistics.median(times["after"])
            rows.append((n, before, after))
            print(f"{n:>3} queries: before {before:6.1f} s  after {after:6.1f} s  ({before / after:.1f}x)", flush=True)
    table = ["| queries | before (s) | after (s) | speed-up |", "|---|---|---|---|"]
    table += [f"| {n} | {b:.1f} | {a:.1f} | {b / a:.1f}x |" for n, b, a in rows]
    print("\n" + "\n".join(table))
    if args.write:
        name = args.before_commit if args.before is None else str(args.before)
        write_section("Render time per video", (
            f"One video (vtest.avi, 79.5 s) with N queries whose 8 s clips step through it, rendered by this checkout\n"
            f"(after) and by {name} (before, the layout before per-stage tracking), each with its own demo recipe,\n"
            f"in a fresh `vcprep render` process (imports included), the two alternating; median of {args.repeats}\n"
            "runs.\n\n"
            + "\n".join(table) + "\n"))


if __name__ == "__main__":
    main()
