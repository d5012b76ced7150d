"""`make bench`: run the benchmarks and rewrite their sections of BENCHMARKS.md, each stamped with date, commit,
machine and versions (bench/report.py).

    python bench/run.py                    # every section, in the order below
    python bench/run.py decode plan        # some sections (make bench BENCH="decode plan")
    python bench/run.py --list             # what each section runs and roughly how long it takes

Each benchmark runs in its own process (a fresh interpreter, so one benchmark's imports and caches never time
another's), with this checkout on PYTHONPATH. A failing benchmark leaves its section as it was; the others still
run, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bench:
    """One section of BENCHMARKS.md and the script that measures it."""

    key: str
    section: str
    script: str
    args: tuple[str, ...]
    minutes: float
    """Rough wall time on a quiet 2-core CPU machine."""


BENCHES = (
    Bench("decode", "Decoding", "bench_decode.py", (), 0.5),
    Bench("plan", "Memory plan", "bench_plan.py", (), 0.2),
    Bench("tracking", "Tracking", "bench_tracking.py", (), 5),
    Bench("tracking_quality", "Tracking quality against ground truth", "bench_tracking_quality.py",
          ("--rounds", "3"), 6),
    Bench("queries", "Render time per video", "bench_queries.py", ("--repeats", "1"), 8),
    Bench("shards", "Shards", "bench_shards.py", (), 2),
    Bench("renderers", "Renderers", "bench_renderers.py", (), 15),
    Bench("train", "Training step", "bench_train.py", (), 5),
    Bench("adaptive", "Adaptive prompting", "exp_adaptive.py", (), 30),
    Bench("selector", "Visual Prompt Selector", "bench_selector.py", (), 10),
    Bench("executors", "Executors", "bench_executors.py", (), 15),
    Bench("view", "Dataset viewer", "bench_view.py", (), 6),
    Bench("target_match", "Target matching", "bench_target_match.py", (), 4),
    Bench("seed_trackers", "Seeding a target", "bench_seed_trackers.py", (), 0.5),
    Bench("multiclass", "Multi-class detection", "bench_multiclass.py", ("--rounds", "3"), 12),
    Bench("frame_bombs", "Frame bombs", "bench_frame_bombs.py", (), 1),
)
BY_KEY = {b.key: b for b in BENCHES}


def run(bench: Bench) -> int:
    """Run one benchmark with `--write`; its exit code."""
    env = dict(os.environ, VCPREP_BENCH_KEY=bench.key)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, str(ROOT / "bench" / bench.script), *bench.args, "--write"]
    print(f"== {bench.key}: {' '.join(command[1:])} (about {bench.minutes:g} min)", flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    state = "rewrote" if code == 0 else f"FAILED ({code}), left as it was:"
    print(f"== {bench.key}: {state} '## {bench.section}' in {time.perf_counter() - t0:.0f} s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help=f"sections to run (default: all): {', '.join(BY_KEY)}")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHES:
            print(f"{b.key:<18} ~{b.minutes:>4g} min  bench/{b.script} {' '.join(b.args)}  -> ## {b.section}")
        return 0
    unknown = [k for k in args.keys if k not in BY_KEY]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; known: {', '.join(BY_KEY)}")
    chosen = [BY_KEY[k] for k in args.keys] if args.keys else list(BENCHES)
    failed = [b.key for b in chosen if run(b) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
