"""Where `process_video` runs for `run_pipeline`: in this process, a local process pool, or Ray Data.

All of them call the same function on the same (job, config) pairs with the recipe's plug-ins
and yield results in job order, so the written dataset is identical whichever runs it. The
plug-ins (models) are built once per process: the caller's for `local` with one worker, once per
worker process for a pool (its initializer), once per Ray Data actor. Only the caller writes, so
every row travels back to it: `vcprep render --executor ray` uses vcprep/cluster.py instead, where
workers write their own shards; this Ray path stays as the driver-writes-all baseline of the bench.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from vcprep.core.config import PipelineConfig
from vcprep.plugins import Plugins, build_plugins

J = TypeVar("J")
R = TypeVar("R")
VideoFn = Callable[[J, PipelineConfig, Plugins], R]

EXECUTORS = ("local", "ray")


def iter_results(fn: VideoFn[J, R], jobs: Sequence[J], config: PipelineConfig, plugins: Plugins, *,
                 executor: str = "local", workers: int = 1) -> Iterator[R]:
    if executor == "local":
        yield from _local(fn, jobs, config, plugins, workers)
    elif executor == "ray":
        yield from _ray(fn, jobs, config, workers)
    else:
        raise ValueError(f"unknown executor {executor!r}; choose one of {EXECUTORS}")


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
    forkserver and resource tracker are stopped through their own `_stop` (private, but the only
    handle multiprocessing gives; both restart on demand if this process starts another pool).
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
    from multiprocessing import forkserver, resource_tracker

    for helper in (forkserver._forkserver, resource_tracker._resource_tracker):
        with contextlib.suppress(Exception):  # already stopped, or never started
            helper._stop()  # type: ignore[union-attr]


class _RayDataActor:
    """A Ray Data actor: the plug-ins built once, then every job index it is handed."""

    def __init__(self, fn: VideoFn[J, R], jobs: list[J], config: PipelineConfig) -> None:
        self.fn, self.jobs, self.config = fn, jobs, config
        self.plugins = build_plugins(config)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {"result": [self.fn(self.jobs[int(i)], self.config, self.plugins) for i in batch["index"]]}


def _ray(fn: VideoFn[J, R], jobs: Sequence[J], config: PipelineConfig, workers: int) -> Iterator[R]:
    """Ray Data map over the jobs. Connects to RAY_ADDRESS when set (a real cluster), else
    starts a local Ray with `workers` CPUs. Order is preserved so output stays deterministic."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError("the ray executor needs the extra: pip install 'vcprep[ray]'") from exc

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not os.environ.get("RAY_ADDRESS"):
            kwargs["num_cpus"] = max(1, workers)
        ray.init(**kwargs)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ds = ray.data.from_items([{"index": i} for i in range(len(jobs))], override_num_blocks=max(1, len(jobs)))
        mapped = ds.map_batches(_RayDataActor, fn_constructor_args=(fn, list(jobs), config),
                                concurrency=max(1, workers), batch_size=1, batch_format="numpy")
        for row in mapped.iter_rows():
            yield row["result"]
    finally:
        if started:
            ray.shutdown()
