"""Every plug-in of a recipe, built and checked before the first video is read.

A misspelt source, detector, tracker or renderer, or a parameter it does not take, fails here with
the recipe key that names it. The same built plug-ins then serve every video of the process (a
worker process or Ray actor builds its own once, never per video).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vcprep.core.config import ConfigError, PipelineConfig
from vcprep.core.plugin_docs import PluginDoc
from vcprep.core.registry import Registry
from vcprep.render.renderers import RENDERERS, Renderer
from vcprep.render.rows import build_chains as render_chains
from vcprep.sources import SOURCES
from vcprep.sources.plan import check_source
from vcprep.track.detectors import DETECTORS
from vcprep.track.stage import Trackers
from vcprep.track.trackers import TRACKERS


@dataclass
class Plugins:
    trackers: Trackers
    chains: dict[str, list[Renderer]]
    """Renderers of each variant, by variant name, in drawing order."""


@dataclass
class ModelLoads:
    """Detector+tracker builds in this process, and their seconds: a witness that a worker or
    actor loads its models once, not once per video (Ray actors report it to the driver)."""

    count: int = 0
    seconds: float = 0.0


MODEL_LOADS = ModelLoads()


def _check_name(kind: str, key: str, name: str, known: list[str]) -> None:
    if name not in known:
        raise ConfigError(f"{key}: unknown {kind} {name!r}; known: {', '.join(known)}")


def check_names(config: PipelineConfig) -> None:
    """Cheap checks of every plug-in name and of the source's parameters (no model is loaded, no file read)."""
    check_source(config)
    _check_name("detector", "detector.name", config.detector.name, DETECTORS.names())
    _check_name("tracker", "tracker.name", config.tracker.name, TRACKERS.names())
    seen: set[str] = set()
    for i, variant in enumerate(config.variants):
        if variant.name in seen:
            raise ConfigError(f"variants[{i}]: the variant name {variant.name!r} is used twice")
        seen.add(variant.name)
        for j, r in enumerate(variant.renderers):
            _check_name("renderer", f"variants[{i}] ({variant.name}).renderers[{j}]", r.name, RENDERERS.names())


def build_chains(config: PipelineConfig) -> dict[str, list[Renderer]]:
    """Every variant's renderers only (no model), after checking every plug-in name: what a render-only
    worker needs."""
    check_names(config)
    return render_chains(config)


def build_plugins(config: PipelineConfig) -> Plugins:
    """Build the detector, tracker and every variant's renderers; ConfigError names the failing key."""
    chains = build_chains(config)
    t0 = time.perf_counter()
    try:
        trackers = Trackers.build(config)
    except (ValueError, TypeError, OSError, ImportError) as exc:  # bad params, missing weights or extra
        raise ConfigError(f"detector/tracker ({config.detector.name} + {config.tracker.name}): {exc}") from exc
    MODEL_LOADS.count += 1
    MODEL_LOADS.seconds += time.perf_counter() - t0
    return Plugins(trackers, chains)


REGISTRIES: dict[str, Registry] = {"detector": DETECTORS, "tracker": TRACKERS, "renderer": RENDERERS, "source": SOURCES}
"""Every kind of plug-in a recipe chooses by name, in the order data meets them."""


def plugin_docs(kind: str | None = None) -> list[PluginDoc]:
    """Every registered plug-in of `kind` (None: all kinds) with its parameters and docs (`vcprep plugins`)."""
    if kind is not None and kind not in REGISTRIES:
        raise ConfigError(f"unknown plug-in kind {kind!r}; known: {', '.join(REGISTRIES)}")
    kinds = [kind] if kind else list(REGISTRIES)
    return [REGISTRIES[k].describe(name) for k in kinds for name in REGISTRIES[k].names()]
