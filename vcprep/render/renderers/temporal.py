"""Renderers that change which frames a variant holds, not their pixels: raw and temporal_crop."""

from __future__ import annotations

from vcprep.render.renderers.base import Renderer


class Raw(Renderer):
    """The frames as decoded: the baseline every prompt is compared against."""

    name = "raw"
    hint = ""


class TemporalCrop(Renderer):
    """Keeps only the reference span plus `margin_seconds` on each side, within the clip.

    The reference is the ground-truth span, or a span given per sample (`crop_span_seconds` in
    the sample's extra fields, e.g. a predicted one; see `vcprep.render.renderers.crop_reference`).
    Frames are sampled from that span at the pipeline's rate; their times stay those of the
    source video, so answers in seconds need no shifting.
    """

    name = "temporal_crop"
    hint = "The video is trimmed to the part where the event happens."

    def __init__(self, *, margin_seconds: float = 1.0, hint: str | None = None) -> None:
        """
        Args:
            margin_seconds: seconds kept on each side of the reference span, within the clip.
        """
        super().__init__(hint=hint)
        if margin_seconds < 0:
            raise ValueError(f"margin_seconds must be >= 0, got {margin_seconds}")
        self.margin_seconds = margin_seconds

    def crop_span(self, gt_span: tuple[float, float] | None, clip_span: tuple[float, float]) -> tuple[float, float]:
        if gt_span is None:
            return clip_span
        start = max(clip_span[0], gt_span[0] - self.margin_seconds)
        end = min(clip_span[1], gt_span[1] + self.margin_seconds)
        return (start, end) if end > start else clip_span
