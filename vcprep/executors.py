"""Where `process_video` runs for `run_pipeline`: in this process, or a local process pool.

Both call the same function on the same (job, config) pairs with the recipe's plug-ins and yield
results in job order, so the written dataset is identical whichever runs it. The plug-ins (models)
are built once per process: the caller's with one worker, once per worker process for a pool (its
initializer). Only the caller writes, so every row travels back to it. Ray is the other place it
runs: `vcprep render --executor ray` (vcprep/cluster.py), where workers write their own shards.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from vcprep.core.config import PipelineConfig
from vcprep.plugins import Plugins, build_plugins

J = TypeVar("J")
R = TypeVar("R")
VideoFn = Callable[[J, PipelineConfig, Plugins], R]


def iter_results(fn: VideoFn[J, R], jobs: Sequence[J], config: PipelineConfig, plugins: Plugins, *,
                 workers: int = 1) -> Iterator[R]:
    """`fn` over the jobs, in job order: in this process with one worker, else in a pool of `workers` processes."""
    yield from _local(fn, jobs, config, plugins, workers)


class _Worker:
    """The plug-ins of one worker process, built by the pool's initializer."""

    plugins: Plugins | None = None
    config: PipelineConfig | None = None


def _init_worker(config: PipelineConfig) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it and ends the workers (stop_pool)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _Worker.config, _Worker.plugins = config, build_plugins(config)


def _run_in_worker(fn: VideoFn[J, R], job: J) -> R:
    assert _Worker.config is not None and _Worker.plugins is not None, "worker initializer did not run"
    return fn(job, _Worker.config, _Worker.plugins)


def _local(fn: VideoFn[J, R], jobs: Sequence[J], config: PipelineConfig, plugins: Plugins,
           workers: int) -> Iterator[R]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job, config, plugins)
        return
    # forkserver, not fork: a forked child inherits OpenCV's (DNN) and torch's thread pools without their
    # threads and can hang in its first parallel call; forkserver children start from a clean process
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(config,), mp_context=context)
    try:
        # map keeps the input order, so the output is deterministic whatever the timing
        yield from pool.map(_run_in_worker, [fn] * len(jobs), jobs)
    except BaseException:  # Ctrl-C, SIGTERM (see vcprep.interrupt), an error, or the consumer stopped early
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now, and the forkserver and resource tracker that came with them.

    `ProcessPoolExecutor.shutdown` waits for the running jobs (minutes of tracking each) and, on
    SIGTERM, nothing runs at all: the workers, the forkserver and the resource tracker then outlive
    the run (554 MB a worker). Workers are terminated (SIGTERM, then SIGKILL after 5 s); the
    forkserver is stopped through its own `_stop` (private, but the only handle multiprocessing gives;
    it restarts on demand if this process starts another pool). The resource tracker is left to end by
    itself: it exits when its last holder (this process, once the forkserver is gone) exits, after this
    process's own finalizers have unlinked the pool's semaphores. Stopping it here made it unlink them
    first, and the finalizers then printed "Exception ignored ... FileNotFoundError" tracebacks on Ctrl-C.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)
    from multiprocessing import forkserver

    with contextlib.suppress(Exception):  # already stopped, or never started
        forkserver._forkserver._stop()  # type: ignore[attr-defined]

