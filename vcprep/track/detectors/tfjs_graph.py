"""A TensorFlow.js graph model (`model.json` + its weight shards) converted to ONNX, without TensorFlow.

The JSON holds a TF GraphDef (`modelTopology.node`) and a manifest of the weights: their names, shapes,
dtypes and, when quantised, the stored dtype (float16 here). Python has no reader for that format, so
this module reads it and writes each TF op as the equivalent ONNX op with the `onnx` helper API; the
ONNX model then runs on onnxruntime or OpenCV DNN. TF ops are NHWC where ONNX is NCHW: a layout op is
wrapped in transposes, and `simplify` removes the transpose pairs that cancel, so the runtime sees the
plain NCHW network a PyTorch export would give.

Only the ops such converted detectors use are known (an unknown op is an error that names it); ops
whose inputs are all constants (shape arithmetic such as `SparseToDense`) are evaluated here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


@dataclass
class TFJSGraph:
    """The parsed model: nodes in file order, constant tensors by name, signature inputs and outputs."""

    nodes: list[dict[str, Any]]
    constants: dict[str, np.ndarray]
    inputs: dict[str, list[int]]
    """Input tensor name (`input_1:0`) -> shape; -1 for an unknown size."""
    outputs: dict[str, list[int]]
    """Output tensor name (`Identity:0`) -> shape, in signature order."""


def read_weights(manifest: list[dict[str, Any]], folder: Path) -> dict[str, np.ndarray]:
    """The weight shards concatenated, cut into named arrays; float16-quantised weights back to float32."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            quant = spec.get("quantization")
            stored = np.dtype(quant["dtype"] if quant else spec["dtype"])
            if quant and quant["dtype"] != "float16":
                raise ValueError(f"{folder}: weight {spec['name']!r} uses {quant['dtype']} quantisation; "
                                 "only float16 is supported")
            count = int(np.prod(spec["shape"], dtype=np.int64))
            end = offset + count * stored.itemsize
            if end > len(data):
                raise ValueError(f"{folder}: weight shards {group['paths']} end before weight {spec['name']!r}")
            array = np.frombuffer(data, stored, count, offset).reshape(spec["shape"])
            out[spec["name"]] = array.astype(np.float32) if quant else array.copy()
            offset = end
        if offset != len(data):
            raise ValueError(f"{folder}: weight shards {group['paths']} hold {len(data)} bytes, "
                             f"the manifest describes {offset}")
    return out


def read_tfjs_graph(json_path: Path) -> TFJSGraph:
    """Parse a TF.js `graph-model` JSON and read its weights from the files beside it."""
    spec = json.loads(Path(json_path).read_text())
    if spec.get("format") != "graph-model" or "modelTopology" not in spec:
        raise ValueError(f"{json_path}: not a TensorFlow.js graph model (format {spec.get('format')!r})")
    signature = spec.get("signature") or spec["modelTopology"].get("signature") or {}
    def shapes(kind: str) -> dict[str, list[int]]:
        found = signature.get(kind, {})
        return {name: [int(d.get("size", -1)) for d in found[name]["tensorShape"]["dim"]]
                for name in sorted(found, key=_natural_key)}

    inputs, outputs = shapes("inputs"), shapes("outputs")
    if not inputs or not outputs:
        raise ValueError(f"{json_path}: the model has no signature (inputs and outputs)")
    constants = read_weights(spec["weightsManifest"], Path(json_path).parent)
    return TFJSGraph(spec["modelTopology"]["node"], constants, inputs, outputs)


def _natural_key(name: str) -> tuple[str, int]:
    """`Identity_10:0` after `Identity_2:0`; `Identity:0` first."""
    stem = name.split(":")[0]
    base, _, index = stem.rpartition("_")
    return (base, int(index)) if index.isdigit() else (stem, -1)


def tensor_name(ref: str) -> str:
    """A TF input reference (`node`, `node:1`) as a tensor name (`node:0`, `node:1`)."""
    return ref if ":" in ref else f"{ref}:0"


@dataclass
class _Builder:
    """What the op converters append to: ONNX nodes, initialisers, and the constants known so far."""

    constants: dict[str, np.ndarray]
    nodes: list[Any] = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    counter: int = 0

    def const(self, ref: str) -> np.ndarray:
        name = tensor_name(ref)
        if name not in self.constants:
            raise ValueError(f"input {ref!r} must be a constant here")
        return self.constants[name]

    def initializer(self, array: np.ndarray, hint: str) -> str:
        self.counter += 1
        name = f"{hint}/const_{self.counter}"
        self.initializers[name] = array
        return name

    def add(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        from onnx import helper

        self.counter += 1
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{self.counter}", **attrs))

    def nhwc_op(self, node: dict[str, Any], op: str, inputs: list[str], **attrs: Any) -> None:
        """An NCHW ONNX op applied to an NHWC TF tensor: transpose in, op, transpose out."""
        name = node["name"]
        self.add("Transpose", [inputs[0]], [f"{name}/nchw"], perm=list(NHWC_TO_NCHW))
        self.add(op, [f"{name}/nchw", *inputs[1:]], [f"{name}/out_nchw"], **attrs)
        self.add("Transpose", [f"{name}/out_nchw"], [tensor_name(name)], perm=list(NCHW_TO_NHWC))


def _attr(node: dict[str, Any], key: str) -> Any:
    return node.get("attr", {}).get(key, {})


def _nhwc_geometry(node: dict[str, Any], key: str) -> list[int]:
    """Spatial values of an NHWC attribute list ([1, h, w, 1] -> [h, w])."""
    values = [int(v) for v in _attr(node, key).get("list", {}).get("i", [])]
    layout = _attr(node, "data_format").get("s")
    if layout and layout != "TkhXQw==":  # base64 of b"NHWC"
        raise ValueError(f"node {node['name']!r}: only NHWC layouts are supported")
    return values[1:3]


def _onnx_padding(node: dict[str, Any]) -> dict[str, Any]:
    padding = _attr(node, "padding").get("s")
    if padding == "VkFMSUQ=":  # b"VALID"
        return {}
    if padding == "U0FNRQ==":  # b"SAME": TF pads the extra row/column at the end, as ONNX's SAME_UPPER
        return {"auto_pad": "SAME_UPPER"}
    raise ValueError(f"node {node['name']!r}: padding {padding!r} is not supported")


def _conv2d(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    weights = b.const(node["input"][1]).transpose(3, 2, 0, 1)  # HWIO -> OIHW
    dilations = _nhwc_geometry(node, "dilations") or [1, 1]
    b.nhwc_op(node, "Conv", [inputs[0], b.initializer(np.ascontiguousarray(weights), node["name"])],
              kernel_shape=list(weights.shape[2:]), strides=_nhwc_geometry(node, "strides"),
              dilations=dilations, **_onnx_padding(node))


def _max_pool(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    b.nhwc_op(node, "MaxPool", [inputs[0]], kernel_shape=_nhwc_geometry(node, "ksize"),
              strides=_nhwc_geometry(node, "strides"), **_onnx_padding(node))


def _resize_bilinear(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    if _attr(node, "align_corners").get("b"):
        mode = "align_corners"
    elif _attr(node, "half_pixel_centers").get("b"):
        mode = "half_pixel"
    else:
        mode = "asymmetric"
    height, width = (int(v) for v in b.const(node["input"][1]))
    name = node["name"]
    b.add("Transpose", [inputs[0]], [f"{name}/nchw"], perm=list(NHWC_TO_NCHW))
    b.add("Shape", [f"{name}/nchw"], [f"{name}/shape"])
    b.add("Slice", [f"{name}/shape", b.initializer(np.array([0], np.int64), name),
                    b.initializer(np.array([2], np.int64), name)], [f"{name}/nc"])
    b.add("Concat", [f"{name}/nc", b.initializer(np.array([height, width], np.int64), name)], [f"{name}/sizes"],
          axis=0)
    b.add("Resize", [f"{name}/nchw", "", "", f"{name}/sizes"], [f"{name}/out_nchw"], mode="linear",
          coordinate_transformation_mode=mode)
    b.add("Transpose", [f"{name}/out_nchw"], [tensor_name(name)], perm=list(NCHW_TO_NHWC))


def _pad(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    paddings = b.const(node["input"][1]).astype(np.int64)  # [rank, 2]: before, after
    pads = b.initializer(np.concatenate([paddings[:, 0], paddings[:, 1]]), node["name"])
    value = [b.initializer(b.const(node["input"][2]).astype(np.float32).reshape(()), node["name"])] \
        if node["op"] == "PadV2" else []
    b.add("Pad", [inputs[0], pads, *value], [tensor_name(node["name"])], mode="constant")


def _transpose(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    b.add("Transpose", [inputs[0]], [tensor_name(node["name"])], perm=[int(v) for v in b.const(node["input"][1])])


def _concat(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    b.add("Concat", inputs[:-1], [tensor_name(node["name"])], axis=int(b.const(node["input"][-1])))


def _split_v(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    sizes = b.const(node["input"][1]).astype(np.int64)
    count = int(_attr(node, "num_split").get("i", len(sizes)))
    b.add("Split", [inputs[0], b.initializer(sizes, node["name"])],
          [f"{node['name']}:{k}" for k in range(count)], axis=int(b.const(node["input"][2])))


def _reshape(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    shape = b.initializer(b.const(node["input"][1]).astype(np.int64), node["name"])
    b.add("Reshape", [inputs[0], shape], [tensor_name(node["name"])])


def _leaky_relu(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
    b.add("LeakyRelu", inputs, [tensor_name(node["name"])], alpha=float(_attr(node, "alpha").get("f", 0.2)))


def _elementwise(op: str) -> Callable[[_Builder, dict[str, Any], list[str]], None]:
    def convert(b: _Builder, node: dict[str, Any], inputs: list[str]) -> None:
        b.add(op, inputs, [tensor_name(node["name"])])
    return convert


CONVERTERS: dict[str, Callable[[_Builder, dict[str, Any], list[str]], None]] = {
    "Conv2D": _conv2d, "MaxPool": _max_pool, "ResizeBilinear": _resize_bilinear, "Pad": _pad, "PadV2": _pad,
    "Transpose": _transpose, "ConcatV2": _concat, "SplitV": _split_v, "Reshape": _reshape,
    "LeakyRelu": _leaky_relu, "Add": _elementwise("Add"), "AddV2": _elementwise("Add"),
    "Sigmoid": _elementwise("Sigmoid"), "Identity": _elementwise("Identity"), "Relu": _elementwise("Relu"),
    "Mul": _elementwise("Mul"),
}
"""TF op -> the function that writes its ONNX equivalent."""


def _sparse_to_dense(indices: np.ndarray, shape: np.ndarray, values: np.ndarray, default: np.ndarray) -> np.ndarray:
    out = np.full([int(v) for v in np.atleast_1d(shape)], default, dtype=values.dtype)
    idx = np.asarray(indices).reshape(len(indices), -1) if np.size(indices) else np.zeros((0, out.ndim), int)
    out[tuple(idx.T)] = values
    return out


FOLDERS: dict[str, Callable[..., np.ndarray]] = {
    "SparseToDense": _sparse_to_dense, "Add": np.add, "AddV2": np.add, "Identity": lambda x: x,
}
"""TF ops evaluated at conversion time when all their inputs are constants."""


def to_onnx(graph: TFJSGraph, opset: int = 17) -> Any:
    """The graph as an `onnx.ModelProto` (inputs and outputs named as in the TF.js signature)."""
    from onnx import TensorProto, helper, numpy_helper

    b = _Builder({tensor_name(k): v for k, v in graph.constants.items()})
    for node in graph.nodes:
        op, refs = node["op"], [r for r in node.get("input", []) if not r.startswith("^")]
        if op in ("Const", "Placeholder"):
            continue
        if op in FOLDERS and refs and all(tensor_name(r) in b.constants for r in refs):
            b.constants[tensor_name(node["name"])] = np.asarray(FOLDERS[op](*(b.const(r) for r in refs)))
            continue
        if op not in CONVERTERS:
            raise ValueError(f"node {node['name']!r}: TF op {op!r} has no ONNX converter "
                             f"(known: {sorted(CONVERTERS)})")
        names = [tensor_name(r) if tensor_name(r) not in b.constants
                 else b.initializer(b.constants[tensor_name(r)], node["name"]) for r in refs]
        CONVERTERS[op](b, node, names)
    used = {i for n in b.nodes for i in n.input}
    initializers = [numpy_helper.from_array(v, k) for k, v in b.initializers.items() if k in used]
    inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [d if d > 0 else None for d in v])
              for k, v in graph.inputs.items()]
    outputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [d if d > 0 else None for d in v])
               for k, v in graph.outputs.items()]
    model = helper.make_model(helper.make_graph(b.nodes, "tfjs_graph", inputs, outputs, initializers),
                              opset_imports=[helper.make_opsetid("", opset)], producer_name="vcprep")
    return simplify(model)


def simplify(model: Any) -> Any:
    """Remove the NHWC<->NCHW transposes the TF graph needed and ONNX does not.

    Two rewrites, repeated until nothing changes: a transpose followed by an `Add` of a constant moves
    after the `Add` (the constant is permuted to match), and two transposes in a row that undo each
    other disappear. A converted NCHW network thus keeps no transpose between its convolutions.
    """
    while _sink_transpose_through_add(model) or _cancel_transpose_pairs(model):
        pass
    used = {i for n in model.graph.node for i in n.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def _consumers(graph: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _perm(node: Any) -> list[int]:
    return [int(v) for a in node.attribute if a.name == "perm" for v in a.ints]


def _cancel_transpose_pairs(model: Any) -> bool:
    graph = model.graph
    consumers = _consumers(graph)
    graph_outputs = {o.name for o in graph.output}
    for first in graph.node:
        if first.op_type != "Transpose" or first.output[0] in graph_outputs:
            continue
        users = consumers.get(first.output[0], [])
        if not users or any(u.op_type != "Transpose" for u in users):
            continue
        p = _perm(first)
        if any([p[i] for i in _perm(u)] != list(range(len(p))) for u in users):
            continue
        source = first.input[0]
        for second in users:  # every reader of second's output reads first's input instead
            if second.output[0] in graph_outputs:
                return False
            for reader in consumers.get(second.output[0], []):
                reader.input[:] = [source if i == second.output[0] else i for i in reader.input]
            graph.node.remove(second)
        graph.node.remove(first)
        return True
    return False


def _sink_transpose_through_add(model: Any) -> bool:
    from onnx import numpy_helper

    graph = model.graph
    consumers = _consumers(graph)
    inits = {i.name: i for i in graph.initializer}
    for transpose in graph.node:
        users = consumers.get(transpose.output[0], [])
        if transpose.op_type != "Transpose" or len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        const_name = next((i for i in add.input if i in inits), None)
        if const_name is None:
            continue
        const = numpy_helper.to_array(inits[const_name])
        perm = _perm(transpose)
        full = const.reshape((1,) * (len(perm) - const.ndim) + const.shape)
        inverse = np.argsort(perm)
        permuted = np.ascontiguousarray(full.transpose(inverse))  # in the transpose's input layout
        new_name = f"{const_name}/perm"
        graph.initializer.append(numpy_helper.from_array(permuted, new_name))
        moved = f"{add.output[0]}/pre_transpose"
        add.input[:] = [transpose.input[0] if i == transpose.output[0] else new_name for i in add.input]
        add_out = add.output[0]
        add.output[0] = moved
        transpose.input[0] = moved
        transpose.output[0] = add_out
        # the transpose now comes after the add: keep the node list in topological order
        graph.node.remove(transpose)
        graph.node.insert(list(graph.node).index(add) + 1, transpose)
        return True
    return False
