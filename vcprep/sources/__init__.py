"""Stage 1, sources: each plug-in turns an upstream annotation format into `Sample`s (`plan.py` groups them by video).

A source yields `Sample` for good records and `ErrorRecord` for malformed ones, so one bad
line never stops a dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from vcprep.core.errors import ErrorRecord
from vcprep.core.registry import Registry
from vcprep.core.types import Sample


class Source(Protocol):
    def iter_samples(self) -> Iterator[Sample | ErrorRecord]: ...


SOURCES: Registry[Source] = Registry("source")


@SOURCES.register("jsonl", implementation="vcprep.sources.jsonl:JsonlSource")
def _jsonl(**params: Any) -> Source:
    from vcprep.sources.jsonl import JsonlSource

    return JsonlSource(**params)


@SOURCES.register("hcstvg", implementation="vcprep.sources.hcstvg:HcStvgSource")
def _hcstvg(**params: Any) -> Source:
    from vcprep.sources.hcstvg import HcStvgSource

    return HcStvgSource(**params)


@SOURCES.register("vidstg", implementation="vcprep.sources.vidstg:VidStgSource")
def _vidstg(**params: Any) -> Source:
    from vcprep.sources.vidstg import VidStgSource

    return VidStgSource(**params)


@SOURCES.register("charades_sta", implementation="vcprep.sources.charades_sta:CharadesStaSource")
def _charades_sta(**params: Any) -> Source:
    from vcprep.sources.charades_sta import CharadesStaSource

    return CharadesStaSource(**params)


@SOURCES.register("vstar", implementation="vcprep.sources.vstar:VStarSource")
def _vstar(**params: Any) -> Source:
    from vcprep.sources.vstar import VStarSource

    return VStarSource(**params)


@SOURCES.register("stgr", implementation="vcprep.sources.stgr:StgrSource")
def _stgr(**params: Any) -> Source:
    from vcprep.sources.stgr import StgrSource

    return StgrSource(**params)


def build_source(name: str, params: dict[str, Any]) -> Source:
    return SOURCES.build(name, **params)
