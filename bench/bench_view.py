"""How fast does `vcprep view` open a large dataset, and how much memory does its server hold?

A synthetic dataset of N samples (default 10,000; two variants, four 128x96 frames a row, every frame
different, about 600 MB of shards) is written once. Then, alternating, best of R runs, each in a fresh process:

- `vcprep view DATASET --port 0`: wall time from starting the process to the first sample-list page
  (`/api/samples`, 50 rows) answered over HTTP, then the 50 thumbnails of that page and 20 sample pages spread
  over the dataset; the server's resident memory (VmRSS, and its peak VmHWM) read from /proc;
- baseline: a process that reads the whole table (`pyarrow.parquet.read_table` of every shard, all columns)
  and builds the same first page from it: what a viewer that loads the dataset does.

Writes the "## Dataset viewer" section of BENCHMARKS.md.

    python bench/bench_view.py [--samples 10000] [--repeats 3] [--write]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from report import write_section
from view_support import write_synthetic_dataset

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import json, sys, time
import pyarrow as pa, pyarrow.parquet as pq
from pathlib import Path
root = Path(sys.argv[1])
shards = [json.loads(line)["shard"] for line in (root / "meta/manifest.jsonl").read_text().splitlines()]
table = pa.concat_tables([pq.read_table(root / s) for s in shards])
ids = table.column("sample_id").to_pylist()
first = []
for i, sample_id in enumerate(ids):
    if sample_id not in first:
        first.append(sample_id)
    if len(first) == 50:
        break
page = [table.slice(ids.index(s), 1).drop_columns(["frames"]).to_pylist()[0] for s in first]
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rss_kib": int(status["VmRSS"].split()[0]), "hwm_kib": int(status["VmHWM"].split()[0]),
                  "cpu_s": usage.ru_utime + usage.ru_stime, "rows": table.num_rows, "page": len(page)}))
"""


def memory_kib(pid: int) -> tuple[int, int]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
    return body


def run_viewer(dataset: Path, samples: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "vcprep.cli", "view", str(dataset), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        page = json.loads(get(port, "/api/samples?ds=0&size=50"))
        first_page_s = time.perf_counter() - start
        cpu_first_s = cpu_seconds(proc.pid)
        rss_first, _ = memory_kib(proc.pid)
        t = time.perf_counter()
        for item in page["items"]:
            get(port, f"/api/frame?ds=0&id={item['sample_id']}&variant=raw&i=0&thumb=1")
        thumbs_s = time.perf_counter() - t
        t = time.perf_counter()
        for k in range(20):
            get(port, f"/api/sample?ds=0&id=syn-{k * samples // 20:06d}")
        sample_page_s = (time.perf_counter() - t) / 20
        rss_after, hwm = memory_kib(proc.pid)
        return {"first_page_s": first_page_s, "cpu_first_s": cpu_first_s, "thumbs_s": thumbs_s,
                "sample_page_s": sample_page_s, "rss_first_mib": rss_first / 1024,
                "rss_after_mib": rss_after / 1024, "hwm_mib": hwm / 1024}
    finally:
        proc.terminate()
        proc.wait(30)


def run_baseline(dataset: Path) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", BASELINE, str(dataset)], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    data = json.loads(out.stdout)
    return {"first_page_s": seconds, "cpu_s": data["cpu_s"], "rss_mib": data["rss_kib"] / 1024,
            "hwm_mib": data["hwm_kib"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "ds"
        t = time.perf_counter()
        write_synthetic_dataset(dataset, args.samples, unique_frames_px=(128, 96))
        size_mb = sum(p.stat().st_size for p in (dataset / "data").glob("*.parquet")) / 1e6
        print(f"wrote {args.samples} samples ({size_mb:.0f} MB) in {time.perf_counter() - t:.1f} s")
        viewer, baseline = [], []
        for r in range(args.repeats):
            viewer.append(run_viewer(dataset, args.samples))
            baseline.append(run_baseline(dataset))
            print(f"run {r}: viewer {viewer[-1]}\n       baseline {baseline[-1]}")
    best_v = min(viewer, key=lambda v: v["first_page_s"])
    best_b = min(baseline, key=lambda b: b["first_page_s"])
    peak_v = max(v["hwm_mib"] for v in viewer)
    peak_b = max(b["hwm_mib"] for b in baseline)
    first_v, first_b = best_v["first_page_s"], best_b["first_page_s"]
    cpu_v, cpu_b = min(v["cpu_first_s"] for v in viewer), min(b["cpu_s"] for b in baseline)
    rss_v, rss_b = best_v["rss_first_mib"], best_b["rss_mib"]
    body = f"""
Produced by `python bench/bench_view.py --write` ({args.samples} synthetic samples, two variants, four 128x96
JPEG frames a row, every frame different: {size_mb:.0f} MB in {(args.samples + 999) // 1000} shards; best of
{args.repeats} alternating runs, each in a fresh process, 2-core CPU machine shared with other jobs).
Baseline: a process that reads the whole table (`pq.read_table` of every shard) and builds the same first page.

| | `vcprep view` | baseline: read the whole table | ratio |
|---|---|---|---|
| process start to first sample-list page (50 rows) | {first_v:.2f} s | {first_b:.2f} s | \
{first_b / first_v:.1f}x faster |
| CPU time of that process until then (user + system) | {cpu_v:.2f} s | {cpu_b:.2f} s | \
{cpu_b / cpu_v:.1f}x less |
| resident memory after the first page | {rss_v:.0f} MiB | {rss_b:.0f} MiB | {rss_b / rss_v:.1f}x less |
| peak resident memory (viewer: also 50 thumbnails, 20 sample pages) | {peak_v:.0f} MiB | {peak_b:.0f} MiB | \
{peak_b / peak_v:.1f}x less |

Wall times include the Python start and imports and depend on the load of the shared machine (the CPU row
does not): the process itself needs about {cpu_v:.1f} s of CPU to answer its first page.
The viewer reads nine small columns to index the samples (ids, task, source, video, target, ceilings, match
votes) and each sample's row group only when it is shown (at most three row groups kept); the 50 thumbnails of
the first page took {best_v['thumbs_s']:.2f} s, a sample page {best_v['sample_page_s'] * 1000:.0f} ms on average
over 20 samples spread over the dataset. The overview's answer-ceiling histogram reads every tube, in a
background thread, after the first page.
"""
    print(body)
    if args.write:
        write_section("Dataset viewer", body)


if __name__ == "__main__":
    main()
