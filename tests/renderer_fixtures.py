"""Shared inputs of the renderer tests: a real frame of vtest.avi with boxes on the people in it.

The boxes were placed by hand on the three walkers of frame 0 (OpenCV's HOG finds the same people);
the masks are ellipses inscribed in them, standing in for SAM2's until the tracker provides masks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vcprep.core.types import Clip

GOLDEN = Path(__file__).resolve().parent / "golden"
SOURCE_PNG = GOLDEN / "source_vtest_f0_320x240.png"
# frame 0 of vtest.avi at 768x576: three walkers, xyxy
PEOPLE_768 = np.array([[248, 216, 288, 310], [496, 154, 532, 234], [636, 236, 690, 324]], np.float32)


def source_frame() -> np.ndarray:
    """RGB 320x240 copy of vtest.avi frame 0, stored with the tests so no decoder can change it."""
    bgr = cv2.imread(str(SOURCE_PNG), cv2.IMREAD_COLOR)
    assert bgr is not None, f"{SOURCE_PNG} is missing"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def people_boxes(width: int, height: int) -> np.ndarray:
    return PEOPLE_768 * np.array([width / 768, height / 576] * 2, np.float32)


def ellipse_masks(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    masks = np.zeros((len(boxes), height, width), bool)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        m = np.zeros((height, width), np.uint8)
        centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
        cv2.ellipse(m, centre, (max(1, int((x2 - x1) / 2)), max(1, int((y2 - y1) / 2))), 0, 0, 360, 1, -1)
        masks[k] = m.astype(bool)
    return masks


def make_clip(
    images: list[np.ndarray], boxes: np.ndarray, ids: np.ndarray | None = None, *, masks: np.ndarray | None = None,
    focus: np.ndarray | None = None, key_frame: list[bool] | None = None, frame_indices: list[int] | None = None,
) -> Clip:
    """A clip whose frames all show the same objects (boxes [K, 4] in frame pixels)."""
    n = len(images)
    ids = np.arange(1, len(boxes) + 1) if ids is None else np.asarray(ids)
    return Clip(
        images=list(images),
        frame_indices=frame_indices or list(range(n)),
        pts_seconds=[i / 10 for i in range(n)],
        track_ids=[ids] * n,
        boxes=[np.asarray(boxes, np.float32)] * n,
        focus_boxes=[np.asarray(boxes[:1] if focus is None else focus, np.float32).reshape(-1, 4)] * n,
        key_frame=key_frame or [True] * n,
        masks=None if masks is None else [masks] * n,
    )


def vtest_clip(width: int = 320, height: int = 240, *, with_masks: bool = True, n: int = 1) -> Clip:
    """The stored frame (resized if asked) with the three walkers, IDs 1-3, the first one the target."""
    image = source_frame()
    if (width, height) != (320, 240):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    boxes = people_boxes(width, height)
    masks = ellipse_masks(boxes, height, width) if with_masks else None
    return make_clip([image] * n, boxes, masks=masks)


def changed(before: np.ndarray, after: np.ndarray, threshold: int = 0) -> np.ndarray:
    """[H, W] bool: pixels where any channel moved by more than `threshold`."""
    return (np.abs(after.astype(np.int16) - before.astype(np.int16)) > threshold).any(axis=2)


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x1, y1, x2, y2), x2/y2 exclusive, of the True pixels."""
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing was drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
