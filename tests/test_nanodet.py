"""The `nanodet` detector: its npm-packaged weights (checksum, licence), the TF.js graph converter
against hand-derived vectors, the GFL decoding, per-class NMS, and real detections on real media."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from vcprep.core.classes import COCO_80
from vcprep.core.geometry import box_iou_matrix
from vcprep.track.detectors import build_detector
from vcprep.track.detectors.nanodet import (
    FOLDER,
    GFLDecoder,
    NanoDetDetector,
    OnnxRuntimeRunner,
    OpenCVRunner,
    check_package,
    distribution_to_distance,
    models_dir,
)
from vcprep.track.detectors.tfjs_graph import read_tfjs_graph, to_onnx

GT = Path(__file__).resolve().parent / "fixtures" / "vtest_mot" / "gt.txt"


# --- a hand-written TF.js graph, in the layout onnx-tf writes (NCHW outside, NHWC around each conv) ---

def _const(name: str, dtype: str = "DT_INT32") -> dict:
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}}}


def _node(name: str, op: str, inputs: list[str], **attr: object) -> dict:
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _write_graph(folder: Path) -> Path:
    """input [1, 1, 3, 3] NCHW -> pad 1 -> NHWC -> 3x3 conv (2 filters, float16 weights) -> + bias -> NCHW
    -> LeakyRelu 0.1 -> split in two channels: sigmoid of channel 0 / 64, and channel 1 reshaped to [1, 9]
    with a shape built by constant arithmetic (AddV2 of a SparseToDense), as converted NanoDet graphs do;
    plus a 2x2 -> 4x4 bilinear resize of a second NCHW input, output NHWC."""
    nhwc = {"s": "TkhXQw=="}  # b"NHWC"
    valid = {"s": "VkFMSUQ="}  # b"VALID"
    ones = {"list": {"i": ["1", "1", "1", "1"]}}
    kernel = np.zeros((3, 3, 1, 2), np.float32)  # HWIO
    kernel[:, :, 0, 0] = 1.0  # filter 0: the sum of the 3x3 neighbourhood
    kernel[1, 1, 0, 1] = 0.5  # filter 1: half the centre pixel
    weights = [  # name, stored array, quantised to float16?
        ("pads", np.array([[0, 0], [0, 0], [1, 1], [1, 1]], np.int32), False),
        ("to_nhwc", np.array([0, 2, 3, 1], np.int32), False),
        ("kernel", kernel, True),
        ("bias", np.array([1.0, -100.0], np.float32), True),
        ("to_nchw", np.array([0, 3, 1, 2], np.int32), False),
        ("split_sizes", np.array([1, 1], np.int32), False),
        ("split_axis", np.array(1, np.int32), False),
        ("scale", np.array(1.0 / 64.0, np.float32), False),
        ("base_shape", np.array([1, 9], np.int32), False),
        ("sparse_indices", np.zeros((0, 1), np.int32), False),
        ("sparse_shape", np.array([2], np.int32), False),
        ("sparse_values", np.zeros((0,), np.int32), False),
        ("sparse_default", np.array(0, np.int32), False),
        ("size", np.array([4, 4], np.int32), False),
    ]
    nodes = [_const(name) for name, _, _ in weights] + [
        _node("input_1", "Placeholder", []),
        _node("small", "Placeholder", []),
        _node("Pad", "Pad", ["input_1", "pads"]),
        _node("t1", "Transpose", ["Pad", "to_nhwc"]),
        _node("conv", "Conv2D", ["t1", "kernel"], data_format=nhwc, padding=valid, strides=ones, dilations=ones),
        _node("biased", "Add", ["conv", "bias"]),
        _node("t2", "Transpose", ["biased", "to_nchw"]),
        _node("act", "LeakyRelu", ["t2"], alpha={"f": 0.1}),
        _node("split", "SplitV", ["act", "split_sizes", "split_axis"], num_split={"i": "2"}),
        _node("scaled", "Mul", ["split", "scale"]),
        _node("sig", "Sigmoid", ["scaled"]),
        _node("dense", "SparseToDense", ["sparse_indices", "sparse_shape", "sparse_values", "sparse_default"]),
        _node("shape", "AddV2", ["base_shape", "dense"]),
        _node("flat", "Reshape", ["split:1", "shape"]),
        _node("small_nhwc", "Transpose", ["small", "to_nhwc"]),
        _node("up", "ResizeBilinear", ["small_nhwc", "size"], half_pixel_centers={"b": True},
              align_corners={"b": False}),
        _node("Identity", "Identity", ["sig"]),
        _node("Identity_1", "Identity", ["flat"]),
        _node("Identity_2", "Identity", ["up"]),
    ]
    blob, manifest = b"", []
    for name, array, quantised in weights:
        stored = array.astype(np.float16) if quantised else array
        blob += stored.tobytes()
        spec = {"name": name, "shape": list(array.shape), "dtype": "float32" if quantised else str(array.dtype)}
        if quantised:
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        manifest.append(spec)

    def sig(shape: list[int]) -> dict:
        return {"tensorShape": {"dim": [{"size": str(d)} for d in shape]}}

    model = {"format": "graph-model", "modelTopology": {"node": nodes},
             "signature": {"inputs": {"input_1:0": sig([1, 1, 3, 3]), "small:0": sig([1, 1, 2, 2])},
                           "outputs": {"Identity:0": sig([1, 1, 3, 3]), "Identity_1:0": sig([1, 9]),
                                       "Identity_2:0": sig([1, 4, 4, 1])}},
             "weightsManifest": [{"paths": ["tiny.bin"], "weights": manifest}]}
    (folder / "tiny.bin").write_bytes(blob)
    path = folder / "tiny.json"
    path.write_text(json.dumps(model))
    return path


def test_graph_converter_against_hand_derived_values(tmp_path: Path) -> None:
    graph = read_tfjs_graph(_write_graph(tmp_path))
    np.testing.assert_array_equal(graph.constants["kernel"][1, 1, 0], [1.0, 0.5])  # float16 read back exactly
    model = to_onnx(graph)
    ops = [n.op_type for n in model.graph.node]
    # the NCHW<->NHWC transposes around the convolution and the resize cancel (the bias Add moved before
    # them); only the last one stays, since the graph's output `up` is NHWC
    assert ops.count("Transpose") == 1 and "Conv" in ops
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    small = np.array([0.0, 4.0, 8.0, 12.0], np.float32).reshape(1, 1, 2, 2)
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    sig, flat, up = session.run(["Identity:0", "Identity_1:0", "Identity_2:0"], {"input_1:0": x, "small:0": small})
    # filter 0 + bias 1: the centre sees 1+...+9 = 45 -> 46; the top-left corner 1+2+4+5 = 12 -> 13;
    # LeakyRelu keeps positives; then sigmoid(v / 64)
    assert sig[0, 0, 1, 1] == pytest.approx(1 / (1 + np.exp(-46 / 64)), abs=1e-6)
    assert sig[0, 0, 0, 0] == pytest.approx(1 / (1 + np.exp(-13 / 64)), abs=1e-6)
    # filter 1: 0.5 * pixel - 100 < 0, LeakyRelu multiplies by 0.1: the centre 0.1 * (2.5 - 100) = -9.75
    np.testing.assert_allclose(flat[0], 0.1 * (0.5 * np.arange(1, 10) - 100.0), rtol=1e-6)
    # half-pixel bilinear 2 -> 4: output column j samples input x = (j + 0.5) / 2 - 0.5, clamped to [0, 1]:
    # x = 0 (clamped), 0.25, 0.75, 1 -> row 0 is [0, 1, 3, 4]; rows blend 0 and 8 the same way
    np.testing.assert_allclose(up[0, 0, :, 0], [0, 1, 3, 4], atol=1e-5)
    np.testing.assert_allclose(up[0, :, 0, 0], [0, 2, 6, 8], atol=1e-5)


def test_unknown_ops_and_torn_weights_are_named(tmp_path: Path) -> None:
    path = _write_graph(tmp_path)
    spec = json.loads(path.read_text())
    spec["modelTopology"]["node"].append(_node("odd", "Erf", ["input_1"]))
    path.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"'odd'.*'Erf'"):
        to_onnx(read_tfjs_graph(path))
    (tmp_path / "tiny.bin").write_bytes((tmp_path / "tiny.bin").read_bytes()[:-8])
    with pytest.raises(ValueError, match="end before weight 'size'"):
        read_tfjs_graph(path)


def test_distribution_to_distance_is_the_softmax_expectation() -> None:
    """Equal logits: uniform over bins 0..10, expectation 5; one bin far above the others: that bin;
    two bins equally far above: their midpoint."""
    logits = np.zeros((3, 44), np.float32)
    logits[1, 11 + 3] = 50.0  # second side (top) of row 1 -> 3
    logits[2, [2, 4]] = 50.0  # first side (left) of row 2 -> (2 + 4) / 2
    d = distribution_to_distance(logits, reg_max=10)
    np.testing.assert_allclose(d[0], [5, 5, 5, 5], atol=1e-5)
    np.testing.assert_allclose(d[1], [5, 3, 5, 5], atol=1e-5)
    np.testing.assert_allclose(d[2], [3, 5, 5, 5], atol=1e-5)


def test_centre_priors_and_decoding() -> None:
    decoder = GFLDecoder()
    priors = decoder.priors()
    assert priors.shape == (52 * 52 + 26 * 26 + 13 * 13, 3)
    np.testing.assert_array_equal(priors[0], [4, 4, 8])  # (0 + 0.5) * 8
    np.testing.assert_array_equal(priors[53], [12, 12, 8])  # row 1, column 1 of the 52x52 level
    np.testing.assert_array_equal(priors[2704], [8, 8, 16])  # first of the stride-16 level
    np.testing.assert_array_equal(priors[-1], [400, 400, 32])  # (12 + 0.5) * 32
    # uniform distributions: every side 5 bins, times the stride: box = centre -+ 5 * stride
    boxes = decoder.decode(np.zeros((len(priors), 44), np.float32))
    np.testing.assert_allclose(boxes[0], [4 - 40, 4 - 40, 4 + 40, 4 + 40])
    np.testing.assert_allclose(boxes[-1], [400 - 160, 400 - 160, 400 + 160, 400 + 160])


@pytest.fixture(scope="module")
def package_dir() -> Path:
    folder = models_dir() / FOLDER
    if not (folder / "package.json").is_file():
        pytest.fail(f"{folder} is missing: run `make models` (scripts/fetch_models.sh) first")
    return folder


@pytest.fixture(scope="module")
def nanodet(package_dir: Path) -> NanoDetDetector:
    detector = build_detector("nanodet", {})
    assert isinstance(detector, NanoDetDetector)
    return detector


def test_packaged_weights_checksum_and_licence(package_dir: Path, tmp_path: Path) -> None:
    assert check_package(package_dir) == package_dir / "nanodet.json"
    assert not (package_dir / "rvm.json").exists() and not (package_dir / "rvm.bin").exists()  # the GPL model
    copy = tmp_path / FOLDER
    shutil.copytree(package_dir, copy)
    meta = json.loads((copy / "package.json").read_text())
    (copy / "package.json").write_text(json.dumps({**meta, "license": "GPL-3.0"}))
    with pytest.raises(ValueError, match=r"licence 'GPL-3\.0'"):
        check_package(copy)
    (copy / "package.json").write_text(json.dumps(meta))
    data = bytearray((copy / "nanodet.bin").read_bytes())
    data[1000] ^= 1
    (copy / "nanodet.bin").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"nanodet.bin has sha256"):
        check_package(copy)
    (copy / "nanodet.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"fetch_models\.sh"):
        check_package(copy)


def test_per_class_nms_and_the_classes_filter(nanodet: NanoDetDetector) -> None:
    """Two overlapping boxes of different classes both stay; of the same class only the best; a
    `classes:` list keeps its classes only; the class names travel in `data["class_name"]`."""
    boxes = np.array([[10, 10, 50, 90], [12, 10, 52, 90], [100, 10, 150, 60]], np.float32)
    scores = np.zeros((3, 80), np.float32)
    scores[0, 0], scores[1, 0], scores[1, 2], scores[2, 16] = 0.9, 0.8, 0.7, 0.5  # person, person+car, dog
    found = nanodet.select(boxes, scores, (100, 200))
    assert sorted((str(n), round(float(c), 2)) for n, c in zip(found.data["class_name"], found.confidence)) == \
        [("car", 0.7), ("dog", 0.5), ("person", 0.9)]
    dogs = build_detector("nanodet", {"classes": ["dog"]})
    assert isinstance(dogs, NanoDetDetector)
    assert dogs.select(boxes, scores, (100, 200)).data["class_name"].tolist() == ["dog"]
    assert dogs.class_names == ("dog",) and nanodet.class_names == COCO_80  # what each can output
    with pytest.raises(ValueError, match="unknown class 'dgo'"):
        build_detector("nanodet", {"classes": ["dgo"]})


def _gt_boxes(frame_index: int) -> np.ndarray:
    rows = np.loadtxt(GT, delimiter=",")
    here = rows[rows[:, 0] == frame_index + 1][:, 2:6]
    return np.concatenate([here[:, :2], here[:, :2] + here[:, 2:]], axis=1)


def test_real_people_on_the_hand_checked_frames(nanodet: NanoDetDetector, media_dir: Path) -> None:
    """The packaged weights on real frames: most hand-checked people of vtest are found at IoU >= 0.5."""
    from vcprep.decode.video import read_frames

    frames = list(read_frames(media_dir / "vtest.avi", np.array([0, 20, 60, 90])))
    hits, total = 0, 0
    for frame in frames:
        found = nanodet.detect(frame.image)
        people = found[found.class_id == 0]
        gt = _gt_boxes(frame.frame_index)
        iou = box_iou_matrix(gt, people.xyxy)
        rows, cols = linear_sum_assignment(-iou)
        hits, total = hits + int((iou[rows, cols] >= 0.5).sum()), total + len(gt)
    assert hits / total >= 0.5, (hits, total)


def test_both_runtimes_give_the_same_scores(package_dir: Path, media_dir: Path) -> None:
    from vcprep.decode.video import read_frames
    from vcprep.track.detectors.nanodet import letterbox, load_graph

    image = next(iter(read_frames(media_dir / "bikes.mp4", np.array([160])))).image
    blob, _ = letterbox(image, 416)
    cv_runner, shapes = load_graph(package_dir / "nanodet.json", "opencv")
    ort_runner, _ = load_graph(package_dir / "nanodet.json", "onnxruntime")
    assert isinstance(cv_runner, OpenCVRunner) and isinstance(ort_runner, OnnxRuntimeRunner)
    for a, b in zip(cv_runner.run(blob), ort_runner.run(blob)):
        np.testing.assert_allclose(a, b, atol=1e-3)
    assert sorted(shapes) == sorted([(2704, 80), (676, 80), (169, 80), (2704, 44), (676, 44), (169, 44)])


def test_real_cars_on_a_hand_boxed_frame(nanodet: NanoDetDetector, media_dir: Path) -> None:
    """bikes.mp4 frame 160, three cars boxed by hand on the frame enlarged 2.5x (white car on the left, dark
    saloon behind the railing, grey hatchback on the right): each is found as a `car` at IoU >= 0.5."""
    from vcprep.decode.video import read_frames

    image = next(iter(read_frames(media_dir / "bikes.mp4", np.array([160])))).image
    cars = np.array([[0, 96, 157, 172], [296, 96, 437, 171], [529, 102, 603, 163]], np.float32)
    found = nanodet.detect(image)
    found_cars = found[found.data["class_name"] == "car"]
    iou = box_iou_matrix(cars, found_cars.xyxy)
    assert np.all(iou.max(axis=1) >= 0.5), iou.round(2)
