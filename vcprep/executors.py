"""Where `process_video` runs: in this process, a local process pool, or Ray Data.

All three call the same pure function on the same (job, config) pairs and yield results in
job order, so the written dataset is identical whichever runs it. Only the caller writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

J = TypeVar("J")
R = TypeVar("R")

EXECUTORS = ("local", "ray")


def iter_results(
    fn: Callable[[J, Any], R], jobs: Sequence[J], config: Any, *, executor: str = "local", workers: int = 1
) -> Iterator[R]:
    if executor == "local":
        yield from _local(fn, jobs, config, workers)
    elif executor == "ray":
        yield from _ray(fn, jobs, config, workers)
    else:
        raise ValueError(f"unknown executor {executor!r}; choose one of {EXECUTORS}")


def _local(fn: Callable[[J, Any], R], jobs: Sequence[J], config: Any, workers: int) -> Iterator[R]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job, config)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # map keeps the input order, so the output is deterministic whatever the timing
        yield from pool.map(fn, jobs, [config] * len(jobs))


def _ray(fn: Callable[[J, Any], R], jobs: Sequence[J], config: Any, workers: int) -> Iterator[R]:
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
        job_ref = ray.put(list(jobs))
        config_ref = ray.put(config)

        def run(batch: dict[str, Any]) -> dict[str, Any]:
            all_jobs, cfg = ray.get(job_ref), ray.get(config_ref)
            return {"result": [fn(all_jobs[int(i)], cfg) for i in batch["index"]]}

        for row in ds.map_batches(run, batch_size=1, batch_format="numpy").iter_rows():
            yield row["result"]
    finally:
        if started:
            ray.shutdown()
