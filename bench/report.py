"""Writing one section of BENCHMARKS.md, stamped with when, on what and with which versions it was measured.

Every bench script that takes `--write` calls `write_section`; `bench/run.py` (`make bench`) runs them. A section is
everything from its `## title` line to the next `## ` line. Notes written by hand for a run may follow the marker
line `KEEP`: a rewrite replaces the part above it and keeps them (they describe the run dated above them, so reread
them after a rerun).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
KEEP = "<!-- notes below are kept when the section is regenerated -->"
PACKAGES = ("numpy", "opencv-python", "pyarrow", "supervision", "trackers", "torch", "transformers", "ray", "numba")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit() -> str:
    """The checkout's commit, and whether files it tracks were changed (the numbers are then of those changes)."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head} (with uncommitted changes)" if dirty else head


def machine() -> str:
    """CPU model and count, memory and GPU, read without importing torch."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    gpu = "no GPU"
    try:
        names = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                               text=True, timeout=10).stdout.split("\n")  # fmt: skip
        names = [n.strip() for n in names if n.strip()]
        if names:
            gpu = f"{len(names)} x {names[0]}"
    except (OSError, subprocess.SubprocessError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cores} CPU cores ({cpu}){memory}, {gpu}"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def provenance(command: str) -> str:
    """The stamp every generated section starts with."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"*Measured {now}, commit {commit()}; {machine()}; {versions()}. "
            f"Regenerate: `{command}`.*")  # fmt: skip


def replace_section(text: str, title: str, body: str) -> str:
    """`text` with section `## title` replaced by `body` (appended when absent); hand notes after KEEP stay."""
    head = f"## {title}\n"
    new = head + "\n" + body.strip("\n") + "\n"
    if head not in text:
        return text.rstrip("\n") + "\n\n" + new
    start = text.index(head)
    nxt = text.find("\n## ", start + len(head))
    end = len(text) if nxt < 0 else nxt + 1
    old = text[start:end]
    if KEEP in old:
        new += "\n" + old[old.index(KEEP) :].rstrip("\n") + "\n"
    return text[:start] + new + ("\n" if nxt >= 0 else "") + text[end:].lstrip("\n")


def this_command() -> str:
    """How this run was started: `make bench BENCH=<key>` when bench/run.py started it, else the script's argv."""
    key = os.environ.get("VCPREP_BENCH_KEY")
    if key:
        return f"make bench BENCH={key}"
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def write_section(title: str, body: str, command: str | None = None, path: Path = BENCHMARKS) -> None:
    """Replace section `## title` of BENCHMARKS.md with the provenance stamp and `body`, leaving the others alone."""
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    path.write_text(replace_section(text, title, provenance(command or this_command()) + "\n\n" + body))


def publish(title: str, body: str, *, write: bool) -> None:
    """Print a bench's section; with `--write` (`write`), also write it into BENCHMARKS.md."""
    print(body)
    if write:
        write_section(title, body)
