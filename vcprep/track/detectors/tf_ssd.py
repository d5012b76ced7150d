"""A TensorFlow Object Detection API SSD graph (`frozen_inference_graph.pb`) run by OpenCV's DNN module.

OpenCV cannot import such a graph whole: its pre-processing loop and its anchor generator use ops the
importer lacks. So only the convolutional part is imported, from the pre-processed input
(`Preprocessor/sub`) to the box predictors' raw outputs, and the two parts around it are done here in
numpy: the input scaling to [-1, 1], and the anchors + box decoding of the Object Detection API's
`ssd_anchor_generator` and `faster_rcnn_box_coder`. No TensorFlow is needed at run time.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

INPUT_NODE = "Preprocessor/sub"
"""Where the graph's own pre-processing ends: the image scaled to [-1, 1], NHWC float."""
BOX_NODE = "BoxPredictor_{layer}/BoxEncodingPredictor/BiasAdd"
CLASS_NODE = "BoxPredictor_{layer}/ClassPredictor/BiasAdd"
_NODE_RE = re.compile(r"(?m)^(?=node \{)")
_PLACEHOLDER = ('node {\n  name: "%s"\n  op: "Placeholder"\n'
                '  attr {\n    key: "dtype"\n    value {\n      type: DT_FLOAT\n    }\n  }\n}\n')


@dataclass(frozen=True)
class AnchorConfig:
    """The Object Detection API's `ssd_anchor_generator` settings (defaults: ssdlite_mobilenet_v2_coco)."""

    min_scale: float = 0.2
    """Anchor scale of the first layer, as a share of the input side."""
    max_scale: float = 0.95
    """Anchor scale of the last layer; layers in between are spaced linearly."""
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
    """Width / height of the anchors of every layer but the first."""
    reduce_boxes_in_lowest_layer: bool = True
    """The first layer has 3 anchors: (0.1, 1:1), (min_scale, 2:1), (min_scale, 1:2)."""

    def layer_specs(self, num_layers: int) -> list[list[tuple[float, float]]]:
        """(scale, aspect ratio) of each anchor at one location, per layer; the API's order."""
        scales = [self.min_scale + (self.max_scale - self.min_scale) * i / (num_layers - 1)
                  for i in range(num_layers)] + [1.0]
        specs = []
        for layer in range(num_layers):
            if layer == 0 and self.reduce_boxes_in_lowest_layer:
                specs.append([(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)])
            else:
                spec = [(scales[layer], a) for a in self.aspect_ratios]
                spec.append((float(np.sqrt(scales[layer] * scales[layer + 1])), 1.0))
                specs.append(spec)
        return specs

    def anchors(self, grid_sizes: list[tuple[int, int]]) -> np.ndarray:
        """Anchors [A, 4] as (cy, cx, h, w) in [0, 1], in the order the predictors' outputs flatten to:
        layer, then row, then column, then anchor."""
        out = []
        for (rows, cols), spec in zip(grid_sizes, self.layer_specs(len(grid_sizes))):
            cy, cx = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
            hw = np.array([(s / np.sqrt(a), s * np.sqrt(a)) for s, a in spec])  # [K, 2]
            centres = np.stack([cy.ravel(), cx.ravel()], axis=1)  # [R*C, 2]
            layer = np.concatenate([np.repeat(centres, len(spec), axis=0), np.tile(hw, (rows * cols, 1))], axis=1)
            out.append(layer)
        return np.concatenate(out).astype(np.float32)


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray,
                 scale_factors: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)) -> np.ndarray:
    """`faster_rcnn_box_coder` decoding: encodings [N, A, 4] (ty, tx, th, tw) -> boxes [N, A, 4] xyxy in [0, 1]."""
    t = encodings / np.asarray(scale_factors, dtype=np.float32)
    cy = t[..., 0] * anchors[:, 2] + anchors[:, 0]
    cx = t[..., 1] * anchors[:, 3] + anchors[:, 1]
    h = np.exp(t[..., 2]) * anchors[:, 2]
    w = np.exp(t[..., 3]) * anchors[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def _conv_subgraph(text_graph: str, outputs: list[str]) -> str:
    """The text graph cut to the nodes `outputs` need, fed by a placeholder at `INPUT_NODE`.

    Weights (`Const` nodes) stay out: OpenCV reads them from the binary graph by name.
    """
    nodes: dict[str, tuple[str, list[str], str]] = {}
    order: list[str] = []
    for block in _NODE_RE.split(text_graph):
        if not block.startswith("node {"):
            continue
        name_match = re.search(r'(?m)^  name: "([^"]+)"', block)
        op_match = re.search(r'(?m)^  op: "([^"]+)"', block)
        if name_match is None or op_match is None:
            continue
        nodes[name_match.group(1)] = (op_match.group(1), re.findall(r'(?m)^  input: "([^"]+)"', block), block)
        order.append(name_match.group(1))
    missing = [n for n in [INPUT_NODE, *outputs] if n not in nodes]
    if missing:
        raise ValueError(f"not an Object Detection API SSD graph: no node {missing[0]!r}")
    keep: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop().lstrip("^").split(":")[0]
        if name in keep:
            continue
        keep.add(name)
        if name != INPUT_NODE:
            stack.extend(nodes[name][1])
    parts = []
    for name in order:
        if name not in keep or nodes[name][0] == "Const":
            continue
        parts.append(_PLACEHOLDER % INPUT_NODE if name == INPUT_NODE else nodes[name][2])
    return "".join(parts)


def count_layers(text_graph: str) -> int:
    """How many `BoxPredictor_<k>` heads the graph has."""
    return len(set(re.findall(r'name: "BoxPredictor_(\d+)/BoxEncodingPredictor/BiasAdd"', text_graph)))


class SSDGraph:
    """The convolutional part of an SSD graph: images [N, S, S, 3] RGB uint8 -> boxes and class scores."""

    def __init__(self, weights: Path, input_size: int = 300, anchor_config: AnchorConfig | None = None) -> None:
        self.input_size = input_size
        self.anchor_config = anchor_config or AnchorConfig()
        with tempfile.TemporaryDirectory() as tmp:
            text_path = Path(tmp) / "graph.pbtxt"
            cv2.dnn.writeTextGraph(str(weights), str(text_path))
            text = text_path.read_text()
            layers = count_layers(text)
            if layers < 2:
                raise ValueError(f"{weights}: not an Object Detection API SSD graph (found {layers} box predictors)")
            self.outputs = [n.format(layer=k) for k in range(layers) for n in (BOX_NODE, CLASS_NODE)]
            text_path.write_text(_conv_subgraph(text, self.outputs))
            self.net = cv2.dnn.readNetFromTensorflow(str(weights), str(text_path))
        # OpenCV fuses each BiasAdd into its convolution: ask for the layers it kept
        self._layer_names = list(self.net.getUnconnectedOutLayersNames())
        by_head = {n.rsplit("/", 1)[0]: n for n in self._layer_names}
        self._fetch = [by_head[n.rsplit("/", 1)[0]] for n in self.outputs]
        self._anchors: np.ndarray | None = None

    def forward(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """images: RGB uint8 [H, W, 3] each (resized to the input size here) -> (boxes [N, A, 4] xyxy in
        [0, 1] of each image, class scores [N, A, C] after a sigmoid, column 0 the background)."""
        size = (self.input_size, self.input_size)
        blob = cv2.dnn.blobFromImages(images, 2.0 / 255.0, size, (127.5, 127.5, 127.5), swapRB=False)
        self.net.setInput(blob)
        raw = self.net.forward(self._fetch)  # NCHW: [N, K*4, R, C] and [N, K*classes, R, C] per layer
        n = len(images)
        encodings = np.concatenate([r.transpose(0, 2, 3, 1).reshape(n, -1, 4) for r in raw[0::2]], axis=1)
        per_anchor = [r.shape[1] // 4 for r in raw[0::2]]
        classes = raw[1].shape[1] // per_anchor[0]
        logits = np.concatenate([r.transpose(0, 2, 3, 1).reshape(n, -1, classes) for r in raw[1::2]], axis=1)
        if self._anchors is None:
            self._anchors = self._build_anchors([(r.shape[2], r.shape[3]) for r in raw[0::2]], per_anchor)
        return decode_boxes(encodings, self._anchors), 1.0 / (1.0 + np.exp(-logits))

    def _build_anchors(self, grid_sizes: list[tuple[int, int]], per_anchor: list[int]) -> np.ndarray:
        expected = [len(s) for s in self.anchor_config.layer_specs(len(grid_sizes))]
        if expected != per_anchor:
            raise ValueError(f"the graph has {per_anchor} anchors per location by layer; the anchor settings "
                             f"give {expected}: set anchor settings that match the model's pipeline config")
        return self.anchor_config.anchors(grid_sizes)
