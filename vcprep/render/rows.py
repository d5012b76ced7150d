"""Turn one sample (video frames + tracks + annotation) into its shard rows, one per prompt variant.

`plan_sample` says which frames each variant needs (the pipeline decodes the union of every
sample's frames once per video); `sample_rows` builds the rows from the video's shared
`VideoContext`. `build_sample_rows` does both for one sample on its own (tests, notebooks).
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vcprep.core.config import ConfigError, MatchConfig, OutputConfig, PipelineConfig, SamplingConfig
from vcprep.core.errors import InputError
from vcprep.core.types import Clip, Sample, Tracks, VideoInfo
from vcprep.decode.frame_pass import FramePass
from vcprep.decode.video import sample_frame_indices
from vcprep.render.answers import key_boxes_per_frame, resolve_key_items, sample_answer
from vcprep.render.context import VideoContext, stored_size
from vcprep.render.prompts import load_template, user_prompt
from vcprep.render.renderers import Renderer, build_renderer, chain_hint, crop_reference, render_chain
from vcprep.track.matching import NO_GROUND_TRUTH_BOXES, NOT_DETECTED, TargetMatch, match_target, seeded_match
from vcprep.track.quality import oracle_for_sample


def validate_sample(sample: Sample, info: VideoInfo) -> None:
    """Reject annotations that do not fit the video; the message says what and where.

    Times may overrun the end by one frame (a span's end is often written as the end of the last
    frame); beyond that the annotation belongs to another cut of the video, and rendering it would
    silently store the last frame as the answer.
    """
    duration = info.duration_seconds
    slack = 1.0 / info.fps if info.fps > 0 else 0.0
    if sample.gt_span_seconds is not None:
        start, end = sample.gt_span_seconds
        if start > duration + 1e-6:
            raise InputError(f"span {sample.gt_span_seconds} starts after the video ends ({duration:.2f} s)")
        if end > duration + slack + 1e-6:
            raise InputError(f"span {sample.gt_span_seconds} ends after the video ends ({duration:.2f} s)")
    if sample.clip_span_seconds is not None and sample.clip_span_seconds[0] >= duration - 1e-6:
        raise InputError(f"clip {sample.clip_span_seconds} lies wholly past the end of the video ({duration:.2f} s)")
    for f, (x1, y1, x2, y2) in sample.gt_boxes.items():
        if f >= info.frame_count:
            raise InputError(f"box on frame {f} but the video has {info.frame_count} frames")
        if x1 < -1 or y1 < -1 or x2 > info.width + 1 or y2 > info.height + 1:
            raise InputError(
                f"box {[x1, y1, x2, y2]} on frame {f} lies outside the {info.width}x{info.height} frame"
            )
    for i, item in enumerate(sample.key_items):
        # NaN passes every `<` test, so finiteness is checked on its own (it would reach the answer text)
        if not all(math.isfinite(v) for v in (*item.xyxy, item.time_seconds)):
            raise InputError(f"key_items[{i}] ({item.name}) has a value that is not finite: "
                             f"box {list(item.xyxy)} at {item.time_seconds} s")
        if item.time_seconds > duration + slack + 1e-6:
            raise InputError(f"key_items[{i}] ({item.name}) at {item.time_seconds} s is after the video ends "
                             f"({duration:.2f} s)")


def encode_image(image: np.ndarray, fmt: str, quality: int) -> bytes:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ext, params = (".png", []) if fmt == "png" else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise RuntimeError(f"could not encode a frame as {fmt}")
    return buf.tobytes()


@dataclass(frozen=True)
class VariantPlan:
    name: str
    chain: list[Renderer]
    span_seconds: tuple[float, float]
    frame_indices: tuple[int, ...]


@dataclass(frozen=True)
class SamplePlan:
    """The frames one sample's variants need: a pure function of (sample, video header, sampling, chains)."""

    sample: Sample
    clip_span_seconds: tuple[float, float]
    variants: list[VariantPlan]

    def frame_indices(self) -> set[int]:
        return {f for v in self.variants for f in v.frame_indices}


class UnansweredSampleError(InputError):
    """A sample whose target has no acceptable track, so its ID answer cannot be known: it is recorded in
    the errors table, never written as a training row.

    `reason` is the short kind (`not detected`, `weak match`, `no ground-truth boxes`); the message adds the
    numbers.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def clip_span_of(sample: Sample, info: VideoInfo) -> tuple[float, float]:
    """The part of the video the sample is about, in seconds (the whole video when it names none)."""
    return sample.clip_span_seconds or (0.0, info.duration_seconds)


def clip_ground_truth(sample: Sample, info: VideoInfo) -> dict[int, tuple[float, float, float, float]]:
    """The sample's ground-truth boxes on frames inside its clip, in frame order (what the target is matched on)."""
    start, end = clip_span_of(sample, info)
    return {f: b for f, b in sorted(sample.gt_boxes.items()) if start - 1e-6 <= f / info.fps <= end + 1e-6}


def match_tolerance(step: int) -> int:
    """Source frames an annotated frame may be from the nearest tracked frame it is matched on (half the
    tracking step, at least 1)."""
    return max(1, step // 2 + 1)


def needs_target_id(sample: Sample) -> bool:
    """Whether the sample's answer names a track ID (an ID task whose source gives no answer of its own)."""
    return "{target_id" in load_template(sample.task).answer and not (sample.task == "stvg" and sample.answer)


NO_ANSWER = "no answer"
"""A sample whose source gives nothing its task's answer is made from (no span for a temporal question, no option
letter, no answer text, no key objects): a row would teach nothing."""
def _missing_inputs(template: Any, sample: Sample, key_items: list[Any]) -> list[str]:
    """What the sample lacks of what its task's answer template is made from, in words (from the template's
    fields: the span, the option letter, the answer text, the key objects; the target ID comes from tracking)."""
    given = {"target_id": True, "start": sample.gt_span_seconds is not None,
             "end": sample.gt_span_seconds is not None, "option": bool(sample.answer), "text": bool(sample.answer),
             "claims": bool(key_items)}
    words = {"start": "span_seconds", "end": "span_seconds", "option": "the option letter",
             "text": "the answer text", "claims": "key items"}
    fields = [name for _, name, _, _ in string.Formatter().parse(template.answer) if name]
    return list(dict.fromkeys(words.get(name, name) for name in fields if not given.get(name, False)))


def check_answerable(sample: Sample, info: VideoInfo) -> None:
    """Refuse, before any tracking, a sample whose answer could not be made whatever the tracks:
    UnansweredSampleError (`no ground-truth boxes`) for an ID query with no ground-truth box inside its clip (a
    span-only ID query names no target), InputError (`no answer`, a bad record) for a sample without what its
    task's answer is made of (a temporal question without its span, an MCQ without its letter)."""
    template = load_template(sample.task)  # an unknown task is a bad record
    needs_id = needs_target_id(sample)
    if needs_id and not clip_ground_truth(sample, info):
        where = "in the sample" if not sample.gt_boxes else f"inside its clip {list(clip_span_of(sample, info))} s"
        raise UnansweredSampleError(NO_GROUND_TRUTH_BOXES, f"an ID query with no ground-truth box {where}, "
                                                           "so no track can be named as its target")
    key_items = resolve_key_items(sample, info, np.ones(4))
    if sample_answer(sample, template, target_id=0 if needs_id else None, key_items=key_items) is None:
        missing = _missing_inputs(template, sample, key_items)
        raise InputError(f"{NO_ANSWER}: the {sample.task} answer needs {' and '.join(missing)}, "
                         "which the sample does not give")


def match_columns(match: TargetMatch | None) -> dict[str, Any]:
    """The row's record of how its target was matched (all None for a sample without ground-truth boxes)."""
    if match is None:
        return {"target_match": None, "target_votes": None, "target_frames_annotated": None, "target_mean_iou": None}
    return {"target_match": match.convention, "target_votes": match.target_votes,
            "target_frames_annotated": match.frames_annotated,
            "target_mean_iou": None if match.mean_iou is None else round(match.mean_iou, 4)}


@dataclass
class SampleRows:
    """The rows of one sample and what it tells about tracking quality (for the run's stats)."""

    rows: list[dict[str, Any]]
    oracle_viou: float | None
    match_votes: dict[str, int]


def plan_sample(sample: Sample, info: VideoInfo, sampling: SamplingConfig,
                chains: dict[str, list[Renderer]]) -> SamplePlan:
    """Validate the sample against the video and pick each variant's frames (raises InputError)."""
    validate_sample(sample, info)
    check_answerable(sample, info)
    clip_span = clip_span_of(sample, info)
    variants = []
    for name, chain in chains.items():
        span = clip_span
        for renderer in chain:
            span = renderer.crop_span(crop_reference(sample), span)
        indices = sample_frame_indices(info=info, fps=sampling.fps, max_frames=sampling.max_frames,
                                       start_seconds=span[0], end_seconds=span[1])
        variants.append(VariantPlan(name, chain, span, tuple(int(i) for i in indices)))
    return SamplePlan(sample, clip_span, variants)


def sample_rows(plan: SamplePlan, ctx: VideoContext, *, output: OutputConfig, match_rule: MatchConfig) -> SampleRows:
    """The rows of one sample, or UnansweredSampleError when its answer names a track ID but the match rule
    trusts no track as the target. No row is then written: a row without an answer teaches nothing, and an ID
    hint over frames without the target misleads. (What no track could fix, a span-only ID query or a sample
    without what its answer is made of, was refused when planning: `check_answerable`.) Tasks that answer
    without an ID (spans, options, the source's own answer) need no boxes and keep a null `target_match`."""
    sample, info, clip_span = plan.sample, ctx.info, plan.clip_span_seconds
    scale = ctx.scale
    in_clip = lambda f: clip_span[0] - 1e-6 <= f / info.fps <= clip_span[1] + 1e-6  # noqa: E731
    gt_boxes = clip_ground_truth(sample, info)
    tolerance = match_tolerance(ctx.step)
    match = match_target(ctx.tracks, gt_boxes, match_rule, tolerance_frames=tolerance)
    if sample.sample_id in ctx.seeded_targets:
        match = seeded_match(ctx.tracks, gt_boxes, ctx.seeded_targets[sample.sample_id], tolerance)
    oracle = oracle_for_sample(ctx.tracks, gt_boxes, tolerance_frames=tolerance)
    template = load_template(sample.task)  # per-task prompt; an unknown task is a bad record
    key_items = resolve_key_items(sample, info, scale)
    answer = sample_answer(sample, template, target_id=match.target_id, key_items=key_items)
    if answer is None:  # everything else was checked when planning: only the target is missing
        raise UnansweredSampleError(match.refusal or NOT_DETECTED, match.detail)
    clip_tracks = ctx.tracks.select(np.array([in_clip(int(f)) for f in ctx.tracks.frame_index], bool))
    ext = "png" if output.image_format == "png" else "jpg"
    rows = []
    for variant in plan.variants:
        clip = render_chain(variant.chain, _make_clip(variant.frame_indices, ctx, sample, gt_boxes,
                                                      match.target_id, key_items))
        hint = chain_hint(variant.chain)
        rows.append({
            "sample_id": sample.sample_id,
            "variant": variant.name,
            "source": sample.source,
            "task": sample.task,
            "video_path": sample.video_path,
            "video_fps": info.fps,
            "video_duration_seconds": info.duration_seconds,
            "source_width": info.width,
            "source_height": info.height,
            "frame_width": ctx.width,
            "frame_height": ctx.height,
            "question": sample.question,
            "hint": hint,
            "system_prompt": template.system,
            "user_prompt": user_prompt(template, question=sample.question, hint=hint,
                                       span_seconds=variant.span_seconds, options=sample.options),
            "answer": answer,
            "target_id": match.target_id,
            "gt_span_seconds": list(sample.gt_span_seconds) if sample.gt_span_seconds else None,
            "gt_frame_indices": list(gt_boxes),
            "gt_pts_seconds": [f / info.fps for f in gt_boxes],
            "gt_boxes": [(np.asarray(b, np.float32) * scale).tolist() for b in gt_boxes.values()],
            "object_names": list(sample.object_names),
            "options": list(sample.options),
            "frames": [
                {"bytes": encode_image(img, output.image_format, output.jpeg_quality),
                 "path": f"{sample.sample_id}/{variant.name}/{fi:06d}.{ext}"}
                for img, fi in zip(clip.images, clip.frame_indices)
            ],
            "frame_indices": clip.frame_indices,
            "pts_seconds": clip.pts_seconds,
            "key_frame": clip.key_frame,
            "frame_track_ids": [ids.astype(np.int32).tolist() for ids in clip.track_ids],
            "frame_track_boxes": [np.asarray(b, np.float32).tolist() for b in clip.boxes],
            "tube_frame_indices": clip_tracks.frame_index.tolist(),
            "tube_pts_seconds": clip_tracks.pts_seconds.tolist(),
            "tube_track_ids": clip_tracks.track_id.astype(np.int32).tolist(),
            "tube_boxes": (clip_tracks.xyxy * scale).tolist(),
            **match_columns(match if gt_boxes else None),
            "oracle_tiou": oracle.tiou if gt_boxes else None,
            "oracle_viou": oracle.viou if gt_boxes else None,
            "meta": json.dumps({
                "template_version": template.version,
                "match_votes": match.votes,
                "clip_span_seconds": list(clip_span),
                "variant_span_seconds": list(variant.span_seconds),
                **({"key_items": [k.to_dict() for k in key_items]} if key_items else {}),
                **sample.extra,
            }, sort_keys=True),
        })
    return SampleRows(rows, oracle.viou if gt_boxes else None, {str(k): int(v) for k, v in match.votes.items()})


def _make_clip(indices: tuple[int, ...], ctx: VideoContext, sample: Sample,
               gt_boxes: dict[int, tuple[float, float, float, float]], target_id: int | None,
               key_items: list[Any]) -> Clip:
    """The clip a variant's renderers see, built whole: frames, objects, focus, masks and key objects."""
    frames = [ctx.frames[f] for f in indices]
    objects = [ctx.objects_at(f) for f in indices]
    focus = []
    for f, (ids, boxes) in zip(indices, objects):
        if target_id is not None:
            focus.append(boxes[ids == target_id])
        elif f in gt_boxes:
            focus.append(np.asarray([gt_boxes[f]], np.float32) * ctx.scale)
        else:
            focus.append(np.zeros((0, 4), np.float32))
    pts = [fr.pts_seconds for fr in frames]
    key_frame = [f in gt_boxes for f in indices]
    key_boxes = None
    if key_items:  # key objects (STGR, V-STaR) on the stored frame nearest their time
        key_boxes = key_boxes_per_frame(key_items, pts)
        key_frame = [k or len(b) > 0 for k, b in zip(key_frame, key_boxes)]
    masks = ctx.masks_at(list(indices))  # None for box trackers: renderers use boxes
    return Clip(
        images=[fr.image for fr in frames],
        frame_indices=list(indices),
        pts_seconds=pts,
        track_ids=[o[0] for o in objects],
        boxes=[o[1] for o in objects],
        focus_boxes=focus,
        key_frame=key_frame,
        gt_span_seconds=sample.gt_span_seconds,
        masks=None if masks is None else masks.masks,
        mask_boxes=None if masks is None else masks.mask_boxes,
        mask_areas=None if masks is None else masks.mask_areas,
        key_boxes=key_boxes,
        focus=sample.extra.get("spotlight_focus"),  # per-sample: light the target or all key objects
    )


def resize_to(width: int, height: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function resizing an RGB frame to the stored size (INTER_AREA), or returning it when it already fits."""
    def resize(image: np.ndarray) -> np.ndarray:
        if image.shape[1] == width and image.shape[0] == height:
            return image
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    return resize


def build_chains(config: PipelineConfig) -> dict[str, list[Renderer]]:
    """Every variant's renderers, built (and so checked) once per run; ConfigError names the failing key."""
    chains: dict[str, list[Renderer]] = {}
    for i, variant in enumerate(config.variants):
        chain = []
        for j, r in enumerate(variant.renderers):
            try:
                chain.append(build_renderer(r.name, r.params))
            except (KeyError, ValueError, TypeError) as exc:
                raise ConfigError(f"variants[{i}] ({variant.name}).renderers[{j}]: {exc}") from exc
        chains[variant.name] = chain
    return chains


def build_sample_rows(sample: Sample, *, video_file: Path, info: VideoInfo, tracks: Tracks,
                      config: PipelineConfig) -> list[dict[str, Any]]:
    """The rows of one sample on its own: plans, decodes its frames and renders (the pipeline batches by video)."""
    plan = plan_sample(sample, info, config.sampling, build_chains(config))
    width, height = stored_size(info, config.output.max_side)
    frames = FramePass(video_file, keep=plan.frame_indices(), backend=config.decode.backend,
                       resize=resize_to(width, height)).finish()
    ctx = VideoContext.build(info, tracks, frames, decode=config.decode, output=config.output,
                             postprocess=config.postprocess)
    return sample_rows(plan, ctx, output=config.output, match_rule=config.match).rows
