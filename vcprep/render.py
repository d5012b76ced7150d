"""Turn one sample (video + tracks + annotation) into its shard rows, one per prompt variant."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vcprep.config import PipelineConfig, VariantConfig
from vcprep.decode import read_frames, sample_frame_indices
from vcprep.errors import InputError
from vcprep.ground_truth import key_boxes_per_frame, resolve_key_items, sample_answer
from vcprep.prompts import load_template, user_prompt
from vcprep.quality import oracle_for_sample
from vcprep.renderers import Renderer, build_renderer, chain_hint, crop_reference, render_chain
from vcprep.renderers.clip_masks import masks_for_clip
from vcprep.tracks import boxes_at_frame, drop_small_masks, match_target
from vcprep.types import Clip, Sample, Tracks, VideoInfo


def validate_sample(sample: Sample, info: VideoInfo) -> None:
    """Reject annotations that do not fit the video; the message says what and where."""
    if sample.gt_span_seconds is not None and sample.gt_span_seconds[0] > info.duration_seconds + 1e-6:
        raise InputError(
            f"span {sample.gt_span_seconds} starts after the video ends ({info.duration_seconds:.2f} s)"
        )
    for f, (x1, y1, x2, y2) in sample.gt_boxes.items():
        if f >= info.frame_count:
            raise InputError(f"box on frame {f} but the video has {info.frame_count} frames")
        if x1 < -1 or y1 < -1 or x2 > info.width + 1 or y2 > info.height + 1:
            raise InputError(
                f"box {[x1, y1, x2, y2]} on frame {f} lies outside the {info.width}x{info.height} frame"
            )


def stored_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """(width, height) of stored frames: the longer side at most `max_side`, aspect kept."""
    scale = 1.0 if max_side <= 0 else min(1.0, max_side / max(info.width, info.height))
    return max(1, round(info.width * scale)), max(1, round(info.height * scale))


def encode_image(image: np.ndarray, fmt: str, quality: int) -> bytes:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ext, params = (".png", []) if fmt == "png" else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise RuntimeError(f"could not encode a frame as {fmt}")
    return buf.tobytes()


def _chain(variant: VariantConfig) -> list[Renderer]:
    return [build_renderer(r.name, r.params) for r in variant.renderers]


def build_sample_rows(
    sample: Sample,
    *,
    video_file: Path,
    info: VideoInfo,
    tracks: Tracks,
    config: PipelineConfig,
) -> list[dict[str, Any]]:
    validate_sample(sample, info)
    out = config.output
    width, height = stored_size(info, out.max_side)
    sx, sy = width / info.width, height / info.height
    scale = np.array([sx, sy, sx, sy], np.float32)
    step = max(1, math.ceil(info.fps / min(config.decode.track_fps, info.fps)))
    tolerance = max(1, step // 2 + 1)

    clip_span = sample.clip_span_seconds or (0.0, info.duration_seconds)
    in_clip = lambda f: clip_span[0] - 1e-6 <= f / info.fps <= clip_span[1] + 1e-6  # noqa: E731
    gt_boxes = {f: b for f, b in sorted(sample.gt_boxes.items()) if in_clip(f)}
    match = match_target(tracks, gt_boxes, min_iou=config.postprocess.min_match_iou, tolerance_frames=tolerance)
    oracle = oracle_for_sample(tracks, gt_boxes, tolerance_frames=tolerance)
    template = load_template(sample.task)  # per-task prompt; an unknown task is a bad record
    key_items = resolve_key_items(sample, info, scale)
    answer = sample_answer(sample, template, target_id=match.target_id, key_items=key_items)

    # STVG-R1 draws only masks >= 1/3 of the frame's largest; matching above used the unfiltered tracks
    drawn_tracks = drop_small_masks(tracks, config.postprocess.render_min_mask_ratio)
    clip_tracks = tracks.select(np.array([in_clip(int(f)) for f in tracks.frame_index], bool))
    decoded: dict[tuple[int, ...], tuple[list[np.ndarray], list[float]]] = {}
    rows = []
    for variant in config.variants:
        chain = _chain(variant)
        span = clip_span
        for renderer in chain:
            span = renderer.crop_span(crop_reference(sample), span)
        indices = sample_frame_indices(
            info=info, fps=config.sampling.fps, max_frames=config.sampling.max_frames,
            start_seconds=span[0], end_seconds=span[1],
        )
        key = tuple(int(i) for i in indices)
        if key not in decoded:
            frames = list(read_frames(video_file, indices, backend=config.decode.backend))
            decoded[key] = (
                [_resize(fr.image, width, height) for fr in frames], [fr.pts_seconds for fr in frames]
            )
        images, pts = decoded[key]
        clip = _make_clip(key, images, pts, drawn_tracks, gt_boxes, match.target_id, scale, step)
        clip.gt_span_seconds = sample.gt_span_seconds
        clip_masks = masks_for_clip(drawn_tracks, clip.frame_indices, clip.track_ids, clip.boxes, (width, height),
                                    max_gap=2 * step)
        if clip_masks is not None:  # None for box trackers: renderers use boxes
            clip_masks.attach(clip)
        if key_items:  # key objects (STGR, V-STaR) on the stored frame nearest their time
            clip.key_boxes = key_boxes_per_frame(key_items, clip.pts_seconds)
            clip.key_frame = [k or len(b) > 0 for k, b in zip(clip.key_frame, clip.key_boxes)]
        clip.focus = sample.extra.get("spotlight_focus")  # per-sample: light the target or all key objects
        clip = render_chain(chain, clip)  # each frame copied once, whatever the chain's length
        hint = chain_hint(chain)
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
            "frame_width": width,
            "frame_height": height,
            "question": sample.question,
            "hint": hint,
            "system_prompt": template.system,
            "user_prompt": user_prompt(template, question=sample.question, hint=hint, span_seconds=span,
                                       options=sample.options),
            "answer": answer,
            "target_id": match.target_id,
            "gt_span_seconds": list(sample.gt_span_seconds) if sample.gt_span_seconds else None,
            "gt_frame_indices": list(gt_boxes),
            "gt_pts_seconds": [f / info.fps for f in gt_boxes],
            "gt_boxes": [(np.asarray(b, np.float32) * scale).tolist() for b in gt_boxes.values()],
            "object_names": list(sample.object_names),
            "options": list(sample.options),
            "frames": [
                {"bytes": encode_image(img, out.image_format, out.jpeg_quality),
                 "path": f"{sample.sample_id}/{variant.name}/{fi:06d}.{'png' if out.image_format == 'png' else 'jpg'}"}
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
            "oracle_tiou": oracle.tiou if gt_boxes else None,
            "oracle_viou": oracle.viou if gt_boxes else None,
            "meta": json.dumps({
                "template_version": template.version,
                "match_votes": match.votes,
                "clip_span_seconds": list(clip_span),
                "variant_span_seconds": list(span),
                **({"key_items": [k.to_dict() for k in key_items]} if key_items else {}),
                **sample.extra,
            }, sort_keys=True),
        })
    return rows


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _make_clip(
    indices: tuple[int, ...], images: list[np.ndarray], pts: list[float], tracks: Tracks,
    gt_boxes: dict[int, tuple[float, float, float, float]], target_id: int | None,
    scale: np.ndarray, step: int,
) -> Clip:
    ids_per_frame, boxes_per_frame, focus = [], [], []
    for f in indices:
        ids, boxes = boxes_at_frame(tracks, f, max_gap=2 * step)
        boxes = boxes * scale
        ids_per_frame.append(ids)
        boxes_per_frame.append(boxes)
        if target_id is not None:
            focus.append(boxes[ids == target_id])
        elif f in gt_boxes:
            focus.append(np.asarray([gt_boxes[f]], np.float32) * scale)
        else:
            focus.append(np.zeros((0, 4), np.float32))
    return Clip(
        images=list(images),
        frame_indices=list(indices),
        pts_seconds=list(pts),
        track_ids=ids_per_frame,
        boxes=boxes_per_frame,
        focus_boxes=focus,
        key_frame=[f in gt_boxes for f in indices],
    )
