"""Peak memory of `vcprep verify` and of vctrain's shard reader on frame bombs, against a normal dataset.

A dataset folder from someone else may hold frames whose header declares far more pixels than the bytes
carry (a JPEG of a few hundred bytes declaring 30000 x 30000; a PNG of zeros 12000 x 12000). Decoding one
takes gigabytes. The frame check (`frame_problem`: format and declared size from the header, against the
row's own size and a global cap) refuses them before any decoder runs. This bench renders one small real
dataset (bikes.mp4, HOG + ByteTrack, 256 px JPEG frames), copies it once per bomb with the first shard's
frames replaced (row hashes and manifest fixed up, as a careful tamperer would), and measures, each in a
fresh process, the peak resident memory (VmHWM) of:

- verify: `verify_dataset(folder)` with every frame decoded (`vcprep verify`);
- vctrain: `index_rows(..., full_check=True)` then `load_sample` of every row, a refused row recorded
  (what the trainer does with each row it visits).

Baseline: the same command on the untouched dataset, in the same run. The limit the issue sets: a bomb's
peak at most 1.5x the baseline's. Writes the "## Frame bombs" section of BENCHMARKS.md.

    python bench/bench_frame_bombs.py [--write]      (or: make bench BENCH=frame_bombs)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from report import write_section  # noqa: E402
from shard_recipes import good_records, render_small  # noqa: E402

from vcshard.hashing import row_content_hash, sha256_file  # noqa: E402
from vcshard.manifest import load_manifest  # noqa: E402
from vcshard.schema import arrow_schema  # noqa: E402

# Peak resident memory of the process itself: VmHWM belongs to the address space made at exec (ru_maxrss would
# carry over the forking parent's peak, and this parent builds 12000x12000 images)
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
VERIFY = f"""
import sys
from vcprep.dataset.verify import verify_dataset
report = verify_dataset(sys.argv[1])
print(len(report.problems), report.frames_decoded, {PEAK})
"""
VCTRAIN = f"""
import sys
from vctrain.data.reader import index_rows, load_sample
refused = loaded = 0
for ref in index_rows([sys.argv[1]], "raw", full_check=True):
    try:
        loaded += load_sample(ref, 16).frames.shape[0]
    except ValueError:
        refused += 1
print(refused, loaded, {PEAK})
"""


def _declaring(width: int, height: int) -> Callable[[bytes, dict], bytes]:
    """The frame's own JPEG with its SOF0 header rewritten to declare width x height."""
    def edit(data: bytes, row: dict) -> bytes:
        out = bytearray(data)
        sof = out.index(b"\xff\xc0")  # FF C0, length(2), precision(1), height(2), width(2)
        out[sof + 5:sof + 9] = struct.pack(">HH", height, width)
        return bytes(out)
    return edit


def _real(ext: str, side: int) -> Callable[[bytes, dict], bytes]:
    """A real side x side image (flat grey: tiny once encoded), the row claiming that size too."""
    cache: dict[str, bytes] = {}

    def edit(data: bytes, row: dict) -> bytes:
        if ext not in cache:
            ok, buf = cv2.imencode(ext, np.full((side, side, 3), 128, np.uint8))
            assert ok
            cache[ext] = buf.tobytes()
        row.update(frame_width=side, frame_height=side)
        return cache[ext]
    return edit


def _pillow(fmt: str) -> Callable[[bytes, dict], bytes]:
    from PIL import Image

    def edit(data: bytes, row: dict) -> bytes:
        out = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("RGB").save(out, fmt)
        return out.getvalue()
    return edit


BOMBS: dict[str, Callable[[bytes, dict], bytes]] = {
    "JPEG header declaring 30000x30000": _declaring(30000, 30000),
    "JPEG header declaring 65535x65535": _declaring(65535, 65535),
    "real 12000x12000 JPEG, row says so too": _real(".jpg", 12000),
    "real 12000x12000 PNG, row says so too": _real(".png", 12000),
    "GIF frames": _pillow("GIF"),
}


def make_bomb(normal: Path, dst: Path, edit: Callable[[bytes, dict], bytes]) -> Path:
    shutil.copytree(normal, dst)
    entries = load_manifest(dst)
    path = dst / entries[0]["shard"]
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        for frame in row["frames"]:
            frame["bytes"] = edit(frame["bytes"], row)
        row["row_sha256"] = row_content_hash(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), path)
    entries[0].update(sha256=sha256_file(path), bytes=path.stat().st_size)
    (dst / "meta" / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    return dst


def peak(script: str, folder: Path) -> tuple[str, int]:
    """(what the script printed before the peak, peak RSS in MiB) of a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, env=env,
                          timeout=900)
    if done.returncode:
        return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1][:80]}", -1
    *counts, kib = done.stdout.split()
    return " ".join(counts), int(kib) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    args = parser.parse_args()
    media = Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache" / "media"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        normal = render_small(work / "normal", media, good_records()[4:], samples_per_shard=1,
                              sampling={"fps": 1.0, "max_frames": 4})
        folders = {"normal (baseline)": normal}
        for k, (name, edit) in enumerate(BOMBS.items()):
            folders[name] = make_bomb(normal, work / f"bomb{k}", edit)
        size_kib = {name: sum(p.stat().st_size for p in f.rglob("*") if p.is_file()) // 1024
                    for name, f in folders.items()}
        results = {name: (peak(VERIFY, f), peak(VCTRAIN, f)) for name, f in folders.items()}
    base_v, base_t = results["normal (baseline)"][0][1], results["normal (baseline)"][1][1]
    lines = ["| dataset | folder | verify: problems, frames decoded | verify peak | vs baseline "
             "| vctrain: rows refused, frames loaded | vctrain peak | vs baseline |",
             "|---|---|---|---|---|---|---|---|"]
    for name, ((v_out, v_mib), (t_out, t_mib)) in results.items():
        lines.append(f"| {name} | {size_kib[name]} kB | {v_out} | {v_mib} MiB | {v_mib / base_v:.2f}x "
                     f"| {t_out} | {t_mib} MiB | {t_mib / base_t:.2f}x |")
    table = "\n".join(lines)
    print(table)
    body = f"""`bench/bench_frame_bombs.py`: peak resident memory (VmHWM, each command in a fresh process) of
`vcprep verify` (every frame decoded) and of vctrain's reader (`index_rows` with `full_check`, then `load_sample`
of every row), on a small real dataset (bikes.mp4, 2 samples, 2 variants, 256 px JPEG) and on copies whose first
shard's frames were replaced by bombs (row hashes and manifest fixed up). Baseline: the untouched dataset, same
run, same machine. Every bomb is refused from its header, before any decoder runs; the limit is 1.5x the baseline.
Before the frame check, the issue measured 5.4 GB for `verify` on a 30000x30000 JPEG and 6.0 GB for vctrain on four
12000x12000 frames.

{table}
"""
    if args.write:
        write_section("Frame bombs", body)


if __name__ == "__main__":
    main()
