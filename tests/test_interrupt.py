"""SIGTERM and Ctrl-C end every process a render started (the pool's workers, the forkserver, the resource
tracker) and leave a folder that a re-run resumes as after SIGKILL. Real CLI subprocesses, a real render
with `--workers 2` (the `gt` recipe of the fault tests), processes found through /proc by session."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_faults_runs import _assert_same_dataset, _render, gt_recipe, gt_reference  # noqa: F401 - fixtures

CLI = [sys.executable, "-m", "vcprep.cli"]


def _session(sid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every live process of session `sid` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session, ...
            found.append((int(entry), name))
    return found


def _gone_within(sid: int, seconds: float) -> list[tuple[int, str]]:
    """Wait up to `seconds` for session `sid` to have no live process; what is still alive then."""
    deadline = time.monotonic() + seconds
    while _session(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _session(sid)


def _kill_session(proc: subprocess.Popen) -> None:
    """Whatever a failed test left of the run: every process of its session, then the CLI itself."""
    for pid, _ in _session(proc.pid):
        os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("how", ["SIGTERM", pytest.param("SIGINT to the process group", marks=pytest.mark.slow)])
def test_an_interrupted_render_leaves_no_process_and_resumes(gt_recipe: Path, gt_reference: list,  # noqa: F811
                                                              tmp_path: Path, how: str) -> None:
    out = tmp_path / "ds"
    proc = subprocess.Popen([*CLI, "render", str(gt_recipe), "--out", str(out), "-q", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(_session(proc.pid)) < 5 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the CLI, the resource tracker, the forkserver and two workers
        started = _session(proc.pid)
        assert len(started) >= 5, f"the pool did not start: {started}"
        time.sleep(1.0)  # the workers are now deep in decoding and tracking
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == (143 if how == "SIGTERM" else 130), stderr
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr
        left = _gone_within(proc.pid, 10)
        assert left == [], f"left running after {how}: {left} (started: {started})"
    finally:
        _kill_session(proc)
    assert not [p for p in (out / "data").iterdir() if p.name.endswith(".tmp")]
    done = _render(gt_recipe, out, "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_same_dataset(out, gt_reference)




@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_sigterm_to_a_ray_render_ends_ray_and_resumes(gt_recipe: Path, gt_reference: list,  # noqa: F811
                                                      tmp_path: Path) -> None:
    """`--executor ray` with a Ray started by the render (no RAY_ADDRESS): SIGTERM ends the driver, the
    actors and Ray's own processes (GCS, raylet, workers); a re-run completes the dataset."""
    pytest.importorskip("ray")
    out = tmp_path / "ds"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # a Ray of its own: its temp folder (sessions, sockets, the "current cluster" file) apart from any other
    # Ray on the machine, so ray.init neither joins nor disturbs another's cluster
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_TMPDIR=ray_tmp)
    proc = subprocess.Popen([*CLI, "render", str(gt_recipe), "--out", str(out), "-q", "--workers", "2",
                             "--executor", "ray"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 180
        parts = out / "meta" / "manifest.parts"
        while proc.poll() is None and time.monotonic() < deadline and not (
                parts.is_dir() and any(p.stat().st_size for p in parts.iterdir())):
            time.sleep(0.1)  # until a worker committed a shard: actors up, the run in full swing
        started = _session(proc.pid)
        assert any("raylet" in name for _, name in started) and proc.poll() is None, started
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 143 and "Traceback" not in stderr, stderr
        left = _gone_within(proc.pid, 30)
        assert left == [], f"left running: {left} (started: {started})"
    finally:
        _kill_session(proc)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    done = _render(gt_recipe, out)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_same_dataset(out, gt_reference)
