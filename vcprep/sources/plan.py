"""Group a source's samples by video: the unit of work of every executor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from vcprep.core.config import ConfigError, PipelineConfig
from vcprep.core.errors import ErrorRecord, InputError
from vcprep.core.types import Sample
from vcprep.sources import Source, build_source
from vcprep.sources.bounds import sample_bounds_error
from vcprep.sources.routing import restrict_detector_classes


@dataclass
class VideoJob:
    """One video and every sample of the source that asks about it, in the source's order.

    `render` names the samples still to write (all of them on a fresh run, the missing ones on a
    resumed run); tracking always plans from *all* samples, so a resumed run tracks exactly what an
    uninterrupted one would and writes identical rows.
    """

    video_path: str
    samples: list[Sample]
    render: frozenset[str] | None = None

    def pending(self) -> list[Sample]:
        return [s for s in self.samples if self.render is None or s.sample_id in self.render]


T = TypeVar("T")


def first_videos(jobs: Sequence[T], limit: int | None) -> list[T]:
    """The first `limit` jobs (all for None); a negative limit is refused, never read as Python's
    "all but the last" (`--limit -1` once silently dropped the last video)."""
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit: {limit} is not allowed; must be >= 0")
    return list(jobs if limit is None else jobs[:limit])


class UnusableSourceError(InputError):
    """The annotation file gave no sample at all (empty, or every record bad): nothing to run.

    Refused before anything is written: an empty dataset that verifies would hide the mistake.
    """


def check_source(config: PipelineConfig) -> Source:
    """The recipe's source, built (nothing is read yet); ConfigError names `source.name` or `source.params`."""
    params = dict(config.source.params)
    params["annotations"] = str(config.resolve(config.source.annotations))
    try:
        return build_source(config.source.name, params)
    except KeyError as exc:  # the registry's "unknown source 'jsonll'; known: ..."
        raise ConfigError(f"source.name: {exc.args[0]}") from exc
    except (ValueError, TypeError) as exc:  # a parameter the source does not take, or a value it refuses
        raise ConfigError(f"source.params ({config.source.name}): {exc}") from exc


def plan_jobs(config: PipelineConfig) -> tuple[list[VideoJob], list[ErrorRecord]]:
    """Read the source and group its samples by video, keeping the source's order.

    A sample with a number outside what any video can hold (a frame index of 10^20, a rate of 1e308)
    becomes an ErrorRecord here, whatever source made it. A recipe asking its detector for the classes
    its samples need (`detector.params.classes: from_samples`) gets them written into `config` here,
    before any model is built or the recipe hashed. Raises UnusableSourceError when the file yields no
    usable sample, or no sample's target maps to a detector class.
    """
    source = check_source(config)
    by_video: dict[str, list[Sample]] = defaultdict(list)
    errors: list[ErrorRecord] = []
    seen: set[str] = set()
    for item in source.iter_samples():
        if isinstance(item, ErrorRecord):
            errors.append(item)
        elif (bad := sample_bounds_error(item)) is not None:
            errors.append(ErrorRecord("source", item.video_path, item.sample_id, f"malformed record: {bad}"))
        elif item.sample_id in seen:
            errors.append(ErrorRecord("source", item.video_path, item.sample_id, "duplicate sample id"))
        else:
            seen.add(item.sample_id)
            by_video[item.video_path].append(item)
    if not seen:
        what = "no records" if not errors else f"no usable record ({len(errors)} bad; first: {errors[0].reason})"
        raise UnusableSourceError(f"{config.resolve(config.source.annotations)}: {what}")
    try:
        restrict_detector_classes(config, (s for samples in by_video.values() for s in samples))
    except ValueError as exc:
        raise UnusableSourceError(f"{config.resolve(config.source.annotations)}: {exc}") from exc
    return [VideoJob(v, s) for v, s in by_video.items()], errors
