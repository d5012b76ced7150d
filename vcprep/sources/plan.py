"""Group a source's samples by video: the unit of work of every executor."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from vcprep.core.config import PipelineConfig
from vcprep.core.errors import ErrorRecord, InputError
from vcprep.core.types import Sample
from vcprep.sources import build_source
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


class UnusableSourceError(InputError):
    """The annotation file gave no sample at all (empty, or every record bad): nothing to run.

    Refused before anything is written: an empty dataset that verifies would hide the mistake.
    """


def plan_jobs(config: PipelineConfig) -> tuple[list[VideoJob], list[ErrorRecord]]:
    """Read the source and group its samples by video, keeping the source's order.

    A recipe asking its detector for the classes its samples need (`detector.params.classes:
    from_samples`) gets them written into `config` here, before any model is built or the recipe hashed.
    Raises UnusableSourceError when the file yields no usable sample, or no sample's target maps to a class.
    """
    params = dict(config.source.params)
    params["annotations"] = str(config.resolve(config.source.annotations))
    by_video: dict[str, list[Sample]] = defaultdict(list)
    errors: list[ErrorRecord] = []
    seen: set[str] = set()
    for item in build_source(config.source.name, params).iter_samples():
        if isinstance(item, ErrorRecord):
            errors.append(item)
        elif item.sample_id in seen:
            errors.append(ErrorRecord("source", item.video_path, item.sample_id, "duplicate sample id"))
        else:
            seen.add(item.sample_id)
            by_video[item.video_path].append(item)
    if not seen:
        what = "no records" if not errors else f"no usable record ({len(errors)} bad; first: {errors[0].reason})"
        raise UnusableSourceError(f"{params['annotations']}: {what}")
    try:
        restrict_detector_classes(config, (s for samples in by_video.values() for s in samples))
    except ValueError as exc:
        raise UnusableSourceError(f"{params['annotations']}: {exc}") from exc
    return [VideoJob(v, s) for v, s in by_video.items()], errors
