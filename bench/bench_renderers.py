"""Frames per second of every prompt variant against supervision and a full-frame floor, same run.

For each resolution (640x360, 1280x720) the frames are real (vtest.avi, resized) with 8 objects
(person-sized boxes and elliptical full-frame masks). Each variant is timed through the real
path (`render_chain(chain, clip)`, as the pipeline calls it, the frame copy included) and compared
with, in interleaved rounds:
- its supervision equivalent (annotator or chain) on the same frames and objects, with the same
  line widths and text sizes, the copy that keeps the input intact included as well;
- the floor: one full-frame pass, `cv2.addWeighted` of two frames into a new array, kept like a
  variant's output (timed twice a round: the two copies' disagreement is the run's noise band).
JPEG encoding (quality 90, the pipeline's default) is timed on its own.

Times are CPU time of the benchmarking thread (other jobs on a shared machine do not count, except
through the caches they share) and medians over rounds. OpenCV runs on one thread: the pipeline
parallelises over videos, so per-core speed is what counts. glibc's allocator is pinned (no
trimming, no mmap for frames) before timing, so a new output frame reuses memory already mapped
instead of page-faulting in fresh pages, for every contender alike; what a fresh frame costs with
the default allocator is measured first and reported apart.

    python bench/bench_renderers.py [--frames 16] [--repeats 21] [--write]

`--write` replaces the "## Renderers" section of BENCHMARKS.md (and nothing else in it).
"""

from __future__ import annotations

import argparse
import ctypes
import mmap
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import supervision as sv
from report import write_section

from vcprep.core.masks import rle_decode, rle_encode
from vcprep.core.types import Clip, Tracks
from vcprep.render.renderers import build_renderer, render_chain
from vcprep.render.renderers.clip_masks import masks_for_clip
from vcprep.render.renderers.extents import mask_extents
from vcprep.render.renderers.frame_numbers import FrameNumbers

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / ".cache" / "media" / "vtest.avi"
RESOLUTIONS = ((640, 360), (1280, 720))
NUM_OBJECTS = 8


@dataclass(frozen=True)
class Case:
    """One variant: our renderer chain and the supervision chain that draws the same thing."""

    label: str
    chain: list[tuple[str, dict]]
    sv_chain: str
    sv_note: str = ""
    fallback: bool = False
    """A variant drawn by its OpenCV fallback engine (used where numba is not installed): timed and shown,
    held to the supervision goal, reported apart from the floor goal, which the default engine meets."""


CASES = [
    Case("id_tags", [("id_tags", {})], "label(center)"),
    Case("id_tags_som", [("id_tags_som", {})], "label(center_of_mass)"),
    Case("boxes", [("boxes", {})], "box"),
    Case("masks", [("masks", {})], "mask+polygon"),
    Case("masks (no outline)", [("masks", {"outline": False})], "mask"),
    Case("masks (opencv engine)", [("masks", {"engine": "opencv"})], "mask+polygon", fallback=True),
    Case("spotlight darken", [("spotlight", {"focus": "all"})], "background_overlay"),
    Case(
        "spotlight darken feathered",
        [("spotlight", {"focus": "all", "feather_px": 6})],
        "background_overlay",
        "sv has no feathered overlay",
    ),
    Case(
        "spotlight blur",
        [("spotlight", {"mode": "blur", "focus": "all"})],
        "background_overlay",
        "sv has no outside-blur; nearest is its overlay",
    ),
    Case(
        "spotlight desaturate",
        [("spotlight", {"mode": "desaturate", "focus": "all"})],
        "background_overlay",
        "sv has no outside-desaturate; nearest is its overlay",
    ),
    Case("circle", [("circle", {"focus": "all"})], "circle"),
    Case("frame_numbers", [("frame_numbers", {})], "draw_text"),
    Case("id_tags+spotlight", [("id_tags", {}), ("spotlight", {"focus": "all"})], "label(center)+background_overlay"),
    Case("id_tags_som+masks", [("masks", {}), ("id_tags_som", {})], "mask+polygon+label(center_of_mass)"),
    Case(
        "id_tags_som+masks (opencv engine)",
        [("masks", {"engine": "opencv"}), ("id_tags_som", {})],
        "mask+polygon+label(center_of_mass)",
        fallback=True,
    ),
]


def load_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA))
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read {VIDEO}: run `make media` first")
    return frames


def objects(width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 person-sized boxes spread over the frame (two rows of four), with elliptical masks."""
    bw, bh = width // 10, height // 3
    boxes = []
    for k in range(NUM_OBJECTS):
        cx = width * (0.12 + 0.25 * (k % 4))
        cy = height * (0.3 + 0.4 * (k // 4))
        boxes.append([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
    xyxy = np.asarray(boxes, np.float32)
    masks = np.zeros((NUM_OBJECTS, height, width), bool)
    for k, (x1, y1, x2, y2) in enumerate(xyxy.astype(int)):
        m = np.zeros((height, width), np.uint8)
        cv2.ellipse(m, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, 1, -1)
        masks[k] = m.astype(bool)
    return xyxy, np.arange(1, NUM_OBJECTS + 1), masks


def sv_chain(name: str, scale: float, line_px: int) -> Callable[[np.ndarray, sv.Detections, int], np.ndarray]:
    red = sv.Color(255, 0, 0)
    text_scale, thick = (20 / 30) * scale, max(2, int(2 * (20 / 30) * scale))
    numpro = FrameNumbers().geometry(np.zeros((round(336 * scale), 1), np.uint8))  # (font scale, thickness, margin)
    parts: dict[str, Callable[[np.ndarray, sv.Detections, int], np.ndarray]] = {
        "label(center)": lambda s, d, i: sv.LabelAnnotator(
            color=red, text_position=sv.Position.CENTER, text_scale=text_scale, text_thickness=thick
        ).annotate(s, d, labels=[str(t) for t in d.tracker_id]),
        "label(center_of_mass)": lambda s, d, i: sv.LabelAnnotator(
            text_position=sv.Position.CENTER_OF_MASS, text_scale=text_scale * 0.8, text_thickness=thick
        ).annotate(s, d, labels=[str(t) for t in d.tracker_id]),
        "box": lambda s, d, i: sv.BoxAnnotator(thickness=line_px).annotate(s, d),
        "mask": lambda s, d, i: sv.MaskAnnotator(opacity=0.5).annotate(s, d),
        "polygon": lambda s, d, i: sv.PolygonAnnotator(thickness=max(1, line_px // 2)).annotate(s, d),
        "background_overlay": lambda s, d, i: sv.BackgroundOverlayAnnotator(
            color=sv.Color.BLACK, opacity=0.7, force_box=True
        ).annotate(s, d),
        "circle": lambda s, d, i: sv.CircleAnnotator(color=red, thickness=line_px).annotate(s, d),
        "draw_text": lambda s, d, i: sv.draw_text(  # NumPro's size and place, as FrameNumbers computes them
            s,
            str(i),
            sv.Point(s.shape[1] - numpro[2] - 20, s.shape[0] - numpro[2] - 15),
            text_color=red,
            text_scale=numpro[0],
            text_thickness=numpro[1],
        ),
    }
    steps = [parts[p] for p in name.split("+")]

    def run(scene: np.ndarray, detections: sv.Detections, i: int) -> np.ndarray:
        for step in steps:
            scene = step(scene, detections, i)
        return scene

    return run


def pin_allocator() -> bool:
    """Keep freed memory mapped (glibc): no trimming, no mmap for frame-sized blocks.

    With the defaults, freeing a clip's frames can hand their pages back to the OS, and the next
    frame allocated then page-faults in fresh zeroed pages (about 170 faults for a 640x360 frame),
    which costs more than most drawing. Whether a contender pays it depended on what ran before
    it; pinned, none does. False where the C library has no `mallopt` (not glibc).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of `n` contenders, one a round, in which each contender comes right after each other one
    equally often (a Williams design: n orders for even n, 2n for odd). What a call leaves in the caches
    and the allocator (supervision's large temporaries most) then slows every contender alike: with a
    fixed or merely reversed order, one contender would follow the slowest one far more often than
    another, and their ratio would measure the order."""
    first = [0]
    for j in range(1, n):
        first.append((j + 1) // 2 if j % 2 else n - j // 2)
    orders = [[(v + i) % n for v in first] for i in range(n)]
    return orders if n % 2 == 0 or n == 1 else orders + [order[::-1] for order in orders]


def rounds_ms(fns: list[Callable[[], object]], frames: int, repeats: int) -> list[list[float]]:
    """CPU milliseconds a frame of each function in each round, timed in interleaved rounds whose orders
    follow `balanced_orders` (`repeats` rounded up to whole cycles of them), so slow phases of the
    machine, and what the previous call left behind, hit all of them alike."""
    for fn in fns:
        fn()  # warm-up
    orders = balanced_orders(len(fns))
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(-(-repeats // len(orders)) * len(orders)):
        for k in orders[round_ % len(orders)]:
            t0 = time.thread_time()
            fns[k]()
            times[k].append(1000 * (time.thread_time() - t0) / frames)
    return times


def copy_costs(images: list[np.ndarray], repeats: int) -> dict[str, tuple[float, float]]:
    """(ms, page faults) a frame to copy every frame of a clip, kept until the clip is done: with the
    allocator as this process found it (call before `pin_allocator`), and into fresh pages (a new
    anonymous mapping per frame: the cost when the allocator hands out memory never touched)."""

    def fresh_fn() -> list[tuple[mmap.mmap, np.ndarray]]:
        out = []
        for a in images:
            pages = mmap.mmap(-1, a.nbytes)
            out.append((pages, np.frombuffer(pages, np.uint8).reshape(a.shape)))
            np.copyto(out[-1][1], a)
        return out

    costs = {}
    for name, fn in (("as found", lambda: [a.copy() for a in images]), ("fresh pages", fresh_fn)):
        faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        (ms,) = rounds_ms([fn], len(images), repeats)
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / ((repeats + 1) * len(images))
        costs[name] = statistics.median(ms), faults
    return costs


def pipeline_faults(width: int, height: int, clips: int = 12) -> float:
    """Page faults a rendered frame in a loop shaped like the pipeline's (decode 16 frames, render the
    first 5 variants, JPEG-encode every output, drop), with the allocator as the process found it:
    how often, in steady state, a new output frame lands on fresh pages."""
    xyxy, ids, masks = objects(width, height)
    chains = [[build_renderer(name, params) for name, params in case.chain] for case in CASES[:5]]
    cap = cv2.VideoCapture(str(VIDEO))
    faults0, frames = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, 0
    for _ in range(clips):
        images = []
        while len(images) < 16:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            images.append(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
        n = len(images)
        clip = bench_clip(images, xyxy, ids, masks)
        for chain in chains:
            for a in render_chain(chain, clip).images:
                cv2.imencode(".jpg", cv2.cvtColor(a, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            frames += n
    cap.release()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / max(1, frames)


def bench_clip(images: list[np.ndarray], xyxy: np.ndarray, ids: np.ndarray, masks: np.ndarray) -> Clip:
    """The same 8 objects on every frame, all key frames, the first object as the spotlight's target.
    The masks come with their extents, as `masks_for_clip` makes them in `vcprep render` (the cost of
    finding them is in the mask-preparation table)."""
    n = len(images)
    mask_boxes, mask_areas = mask_extents(masks, xyxy)
    return Clip(
        images=images,
        frame_indices=list(range(n)),
        pts_seconds=[i / 10 for i in range(n)],
        track_ids=[ids] * n,
        boxes=[xyxy] * n,
        focus_boxes=[xyxy[:1]] * n,
        key_frame=[True] * n,
        masks=[masks] * n,
        mask_boxes=[mask_boxes] * n,
        mask_areas=[mask_areas] * n,
    )


def bench(frames_n: int, repeats: int, cases: list[Case] = CASES) -> tuple[list[dict], dict]:
    cv2.setNumThreads(1)
    fresh = {f"{w}x{h}": copy_costs(load_frames(w, h, frames_n), repeats) for w, h in RESOLUTIONS}
    loop_faults = {f"{w}x{h}": pipeline_faults(w, h) for w, h in RESOLUTIONS}
    pinned = pin_allocator()
    results = [r for width, height in RESOLUTIONS for r in bench_resolution(width, height, frames_n, repeats, cases)]
    fixed = {f"{w}x{h}": fixed_costs(w, h, frames_n, repeats) for w, h in RESOLUTIONS}
    prep = {f"{w}x{h}": mask_preparation(w, h, frames_n, repeats) for w, h in RESOLUTIONS}
    return results, {"fresh": fresh, "pinned": pinned, "loop_faults": loop_faults, "fixed": fixed, "prep": prep}


def bench_resolution(width: int, height: int, frames_n: int, repeats: int, cases: list[Case] = CASES) -> list[dict]:
    images = load_frames(width, height, frames_n)
    xyxy, ids, masks = objects(width, height)
    n = len(images)
    clip = bench_clip(images, xyxy, ids, masks)
    det = sv.Detections(xyxy=xyxy, tracker_id=ids, mask=masks, class_id=np.zeros(len(ids), int))
    other = images[::-1]
    bgr = [cv2.cvtColor(a, cv2.COLOR_RGB2BGR) for a in images]

    # every contender makes new output frames and keeps them until the clip is done, as the pipeline
    # does (a decoded frame is shared by all variants of a sample, so no one may draw on it)
    def floor_fn() -> list[np.ndarray]:
        return [cv2.addWeighted(a, 0.5, b, 0.5, 0) for a, b in zip(images, other)]

    def copy_fn() -> list[np.ndarray]:
        return [a.copy() for a in images]

    def jpeg_fn() -> None:
        for b in bgr:
            cv2.imencode(".jpg", b, [cv2.IMWRITE_JPEG_QUALITY, 90])

    copy_ms, jpeg_ms = (statistics.median(t) for t in rounds_ms([copy_fn, jpeg_fn], n, repeats))
    scale = max(width, height) / 336
    line_px = max(1, round(max(width, height) / 320 * 2))  # our line width, given to supervision too
    results = []
    for case in cases:
        chain = [build_renderer(name, params) for name, params in case.chain]
        svf = sv_chain(case.sv_chain, scale, line_px)

        def ours(chain: list = chain) -> Clip:
            return render_chain(chain, clip)

        def theirs(svf: Callable = svf) -> list[np.ndarray]:
            return [svf(a.copy(), det, i) for i, a in enumerate(images)]

        floor_a, floor_b, ours_t, sv_t = rounds_ms([floor_fn, floor_fn, ours, theirs], n, repeats)
        # the same two without supervision's chain in the rounds: what its large temporaries leave in the
        # caches slows what runs next, and touches our object-bound work more than the floor's streaming
        floor_c, ours_c = rounds_ms([floor_fn, ours], n, repeats)
        # ratios within a round, where all contenders met the same machine; medians over rounds
        speedups = sorted(s / o for s, o in zip(sv_t, ours_t))
        results.append(
            {
                "resolution": f"{width}x{height}",
                "variant": case.label,
                "ours_ms": statistics.median(ours_t),
                "sv": case.sv_chain,
                "sv_ms": statistics.median(sv_t),
                "floor_ms": statistics.median(floor_a),
                "aa": statistics.median(a / b for a, b in zip(floor_a, floor_b)),  # floor vs itself
                "speedup": statistics.median(speedups),
                "speedup_q": (speedups[len(speedups) // 4], speedups[(3 * len(speedups)) // 4]),
                "x_floor": statistics.median(o / f for o, f in zip(ours_t, floor_a)),
                "x_floor_alone": statistics.median(o / f for o, f in zip(ours_c, floor_c)),
                "copy_ms": copy_ms,
                "jpeg_ms": jpeg_ms,
                "note": case.sv_note,
                "fallback": case.fallback,
            }
        )
    return results


FIXED_COST_VARIANTS = ("masks", "masks (opencv engine)", "id_tags_som", "id_tags")


def fixed_costs(width: int, height: int, frames_n: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    """(ms a frame with no object, us an object of 6x6 px, us more for a person-sized one) per variant in
    `FIXED_COST_VARIANTS`: the same 8 objects shrunk to 6x6 px around their centres, and none at all,
    timed in the same rounds. What a tiny object costs is the fixed part (Python and call overhead)."""
    images = load_frames(width, height, frames_n)
    xyxy, ids, masks = objects(width, height)
    centres = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    tiny = np.concatenate([centres - 3, centres + 3], axis=1).astype(np.float32)
    tiny_masks = np.zeros_like(masks)
    for k, (x1, y1, x2, y2) in enumerate(tiny.astype(int).tolist()):
        tiny_masks[k, y1:y2, x1:x2] = True
    clips = [
        bench_clip(images, xyxy, ids, masks),
        bench_clip(images, tiny, ids, tiny_masks),
        bench_clip(images, xyxy[:0], ids[:0], masks[:0]),
    ]
    out = {}
    for label in FIXED_COST_VARIANTS:
        case = next(c for c in CASES if c.label == label)
        chain = [build_renderer(name, params) for name, params in case.chain]
        big, small, none = (
            statistics.median(t)
            for t in rounds_ms([lambda c=c, ch=chain: render_chain(ch, c) for c in clips], len(images), repeats)
        )
        out[label] = (none, 1000 * (small - none) / NUM_OBJECTS, 1000 * (big - small) / NUM_OBJECTS)
    return out


SOURCE_SIZE = (768, 576)  # vtest.avi: the size tracks (and their masks) are kept in


def whole_frame_masks(
    tracks: Tracks, frames: list[int], ids: np.ndarray, boxes: np.ndarray, size: tuple[int, int]
) -> list[np.ndarray]:
    """Baseline for `masks_for_clip`: each object's whole mask decoded and warped into the stored frame
    (what it did before it warped only the mask's bounding box)."""
    width, height = size
    out = []
    for f in frames:
        masks = np.zeros((len(ids), height, width), bool)
        for k, (track_id, box) in enumerate(zip(ids.tolist(), boxes.tolist())):
            r = int(np.flatnonzero((tracks.frame_index == f) & (tracks.track_id == track_id))[0])
            src = rle_decode(tracks.mask_rle[r]).astype(np.uint8)
            sx, sy = width / src.shape[1], height / src.shape[0]
            tx1, ty1, tx2, ty2 = tracks.xyxy[r].tolist()
            dx = (box[0] + box[2]) / 2 - (tx1 + tx2) / 2 * sx
            dy = (box[1] + box[3]) / 2 - (ty1 + ty2) / 2 * sy
            warp = np.float32([[sx, 0, dx], [0, sy, dy]])
            masks[k] = cv2.warpAffine(src, warp, (width, height), flags=cv2.INTER_NEAREST).astype(bool)
        out.append(masks)
    return out


def mask_preparation(width: int, height: int, frames_n: int, repeats: int) -> tuple[float, float]:
    """(ms a frame of `masks_for_clip`, of the whole-frame baseline): a clip's 8 masks made from the
    tracks' RLE masks (source size, a tracked mask for every clip frame), as the render stage does
    before any renderer runs. Same objects as the rows above, in source pixels."""
    sw, sh = SOURCE_SIZE
    xyxy, ids, masks = objects(sw, sh)
    rles = [rle_encode(m) for m in masks]
    n = frames_n
    tracks = Tracks(
        frame_index=np.repeat(np.arange(n), len(ids)),
        pts_seconds=np.repeat(np.arange(n) / 10, len(ids)),
        track_id=np.tile(ids, n),
        xyxy=np.tile(xyxy, (n, 1)),
        score=np.ones(n * len(ids), np.float32),
        class_id=np.zeros(n * len(ids), np.int32),
        mask_rle=rles * n,
    )
    stored = xyxy * np.array([width / sw, height / sh] * 2, np.float32) + np.float32(3.0)  # moved a little
    frames = list(range(n))

    def ours() -> object:
        return masks_for_clip(tracks, frames, [ids] * n, [stored] * n, (width, height), max_gap=2)

    def baseline() -> object:
        return whole_frame_masks(tracks, frames, ids, stored, (width, height))

    ours_t, base_t = rounds_ms([ours, baseline], n, repeats)
    return statistics.median(ours_t), statistics.median(base_t)


def noise_band(results: list[dict], resolution: str) -> float:
    """Relative noise of a median ratio in this run: the largest disagreement between the floor's two
    timings (the same call twice a round) over all rows of `resolution`."""
    return max(abs(r["aa"] - 1.0) for r in results if r["resolution"] == resolution)


def verdict_vs_sv(r: dict, band: float) -> str:
    """faster / slower / tie: a median speed-up within the run's noise band of 1.0, or whose rounds'
    interquartile range holds 1.0, is a tie."""
    speedup, (lo, hi) = r["speedup"], r["speedup_q"]
    if lo <= 1.0 <= hi:
        return "tie"
    if speedup > 1.0 + band:
        return "faster"
    return "slower" if speedup < 1.0 - band else "tie"


def markdown(results: list[dict], extra: dict) -> str:
    lines = [
        "| resolution | variant | ours fps | supervision (chain) | sv fps | speed-up vs sv (rounds' IQR) | vs sv | "
        "x floor | x floor, rounds without sv | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        band = noise_band(results, r["resolution"])
        lo, hi = r["speedup_q"]
        lines.append(
            f"| {r['resolution']} | {r['variant']} | {1000 / r['ours_ms']:.0f} | {r['sv']} | {1000 / r['sv_ms']:.0f} | "
            f"{r['speedup']:.2f}x ({lo:.2f}-{hi:.2f}) | {verdict_vs_sv(r, band)} | {r['x_floor']:.1f} | "
            f"{r['x_floor_alone']:.1f} | {r['note']} |"
        )
    lines += [
        "",
        "| resolution | floor: addWeighted into a new frame, median of rows (ms / fps) | noise band (floor vs itself) "
        "| frame copy (ms) | frame copy into fresh pages (ms, page faults) | frame copy, allocator as found (ms, "
        "page faults) | pipeline-like loop, allocator as found (page faults a rendered frame) | JPEG q90 encode, "
        "not in any row above (ms / fps) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for resolution in dict.fromkeys(r["resolution"] for r in results):
        rows = [r for r in results if r["resolution"] == resolution]
        floor = statistics.median(r["floor_ms"] for r in rows)
        fresh, found = extra["fresh"][resolution]["fresh pages"], extra["fresh"][resolution]["as found"]
        lines.append(
            f"| {resolution} | {floor:.3f} / {1000 / floor:.0f} | +/-{100 * noise_band(results, resolution):.1f}% | "
            f"{rows[0]['copy_ms']:.3f} | {fresh[0]:.3f} ({fresh[1]:.0f}) | {found[0]:.3f} ({found[1]:.0f}) | "
            f"{extra['loop_faults'][resolution]:.1f} | "
            f"{rows[0]['jpeg_ms']:.2f} / {1000 / rows[0]['jpeg_ms']:.0f} |"
        )
    lines += [
        "",
        "| resolution | variant | no object: copy and overhead (ms a frame) | fixed cost an object (us, 6x6 px) | "
        "more for a person-sized object (us) |",
        "|---|---|---|---|---|",
    ]
    for resolution, per_variant in extra["fixed"].items():
        for label, (none_ms, fixed_us, pixels_us) in per_variant.items():
            lines.append(f"| {resolution} | {label} | {none_ms:.3f} | {fixed_us:.1f} | {pixels_us:.1f} |")
    sw, sh = SOURCE_SIZE
    lines += [
        "",
        f"| resolution | clip masks from {sw}x{sh} RLE tracks, 8 objects: `masks_for_clip` (ms a frame) | "
        "baseline: whole mask decoded and warped (ms a frame) | speed-up |",
        "|---|---|---|---|",
    ]
    for resolution, (ours_ms, base_ms) in extra["prep"].items():
        lines.append(f"| {resolution} | {ours_ms:.3f} | {base_ms:.3f} | {base_ms / ours_ms:.1f}x |")
    return "\n".join(lines)


def goals(results: list[dict]) -> str:
    """The issue's three goals, each met or not, with the offending rows named."""
    band = {r["resolution"]: noise_band(results, r["resolution"]) for r in results}
    verdicts = [(r, verdict_vs_sv(r, band[r["resolution"]])) for r in results]
    slower = [f"{r['variant']} @ {r['resolution']} ({r['speedup']:.2f}x)" for r, v in verdicts if v == "slower"]
    ties = [f"{r['variant']} @ {r['resolution']} ({r['speedup']:.2f}x)" for r, v in verdicts if v == "tie"]
    spot = [r for r in results if r["variant"] == "spotlight darken"]
    spot_bad = [f"{r['resolution']} ({r['speedup']:.1f}x)" for r in spot if r["speedup"] < 3]
    held = [r for r in results if not r["fallback"]]
    floor_bad = [f"{r['variant']} @ {r['resolution']} ({r['x_floor']:.1f}x)" for r in held if r["x_floor"] > 3]
    fallback = [f"{r['variant']} @ {r['resolution']} {r['x_floor']:.1f}x" for r in results if r["fallback"]]
    fallback_note = f" OpenCV fallback engine, not held to it: {'; '.join(fallback)}." if fallback else ""
    spot_best = ", ".join(f"{r['resolution']} {r['speedup']:.1f}x" for r in spot)
    timed = {r["variant"] for r in results}
    partial = "" if timed >= {c.label for c in CASES} else " (of the variants timed in this run)"
    verdict = lambda bad: ("met" + partial) if not bad else "NOT met: " + "; ".join(bad)  # noqa: E731
    tie_note = f" Ties within the noise band: {'; '.join(ties)}." if ties else ""
    return "\n".join(
        [
            f"- No variant slower than its supervision equivalent beyond the noise band: {verdict(slower)}.{tie_note}",
            f"- `spotlight` >= 3x faster than `BackgroundOverlayAnnotator` ({spot_best}): {verdict(spot_bad)}."
            if spot
            else "- `spotlight` >= 3x faster than `BackgroundOverlayAnnotator`: not timed in this run.",
            f"- Every variant within 3x of the full-frame floor: {verdict(floor_bad)}.{fallback_note}",
        ]
    )


SECTION_INTRO = """Produced by `python bench/bench_renderers.py --write` (OpenCV on one thread since the pipeline
parallelises over videos). Real vtest.avi frames resized to each
resolution, 8 person-sized objects with elliptical full-frame masks, 16 frames a clip. Each row times, in
{repeats} (or a few more) interleaved rounds in a balanced order, our variant through `render_chain` (as the
pipeline calls it), its supervision {sv} equivalent (same objects, line widths and text sizes) and the floor
(`cv2.addWeighted` of two frames into a new frame), timed twice. Every contender makes and keeps new output
frames. Times are the CPU time of the benchmarking thread; fps are from medians over rounds, speed-ups and "x
floor" (our time / the floor's) are medians of the ratios within each round. "x floor, rounds without sv"
times our variant and the floor again in rounds of their own (see the notes; the goal is judged on the first
"x floor"). glibc's allocator was {pinned} before timing (see the notes). Rows marked "(opencv engine)" draw
the same variant with the OpenCV fallback used where numba is not installed. Spotlight rows light all 8
objects, as `BackgroundOverlayAnnotator` does. "vs sv": a speed-up within the run's noise band of 1.0 (the
floor's two timings' largest disagreement at that resolution), or whose rounds' interquartile range holds 1.0,
is a tie.
"""


NOTES = """How this is measured, and why:
- Same rule for the floor and the variants: each makes a new output frame. A variant must (the decoded frame
  is shared by all variants of a sample), so the floor writes `addWeighted` into a new array too. Writing the
  floor into a reused buffer would compare a variant's allocation with none.
- The previous run showed "frame copy" (0.295 ms) dearer than the whole floor (0.078 ms) at 640x360. Not the
  caches: page faults. A frame copied into pages never touched costs 169 faults and ~0.5 ms at 640x360 ("into
  fresh pages" above), 13-17x a copy into memory already mapped ("frame copy"). With glibc's defaults a new
  frame gets fresh pages or reused ones depending on what the process freed before (its mmap threshold and
  heap trimming adapt as it runs: the "allocator as found" column varies from run to run), so which contender
  paid depended on the order of the calls; by its timings, that run's floor had reused memory at 640x360 and
  fresh pages at 1280x720. The bench now pins glibc (mmap threshold 32 MiB, trimming off) before timing, so no
  contender pays faults. That is the pipeline's steady state: in a decode / render 5 variants / JPEG loop with
  the allocator as found, a rendered frame takes the few faults in the "pipeline-like loop" column, against
  169 (640x360) or 675 (1280x720) for a frame on fresh pages.
- CPU time of the benchmarking thread (other jobs on the 2 shared cores still disturb it through the caches),
  rounds in a balanced (Williams) order, medians over rounds; speed-ups and "x floor" are medians of the ratios
  within a round. The noise band is the largest deviation from 1.0 of the floor's median ratio to itself
  at that resolution; a speed-up within it of 1.0, or whose rounds' interquartile range holds 1.0, is a
  tie, not a win or a loss.

Reading the goals:
- Boxes and frame numbers are the close rows (the previous run had them, and STVG tags and circles, within
  +/-10% with changing signs): both sides copy the frame and make the same one to eight OpenCV calls
  (rectangle, putText), a few microseconds each against a copy of 0.02-0.15 ms, so only per-frame overhead
  can differ; ours lost its `sv.Detections` validation (about 5 us a frame). Where a row says "tie", the
  difference is inside the noise and neither side is faster. Where we are clearly ahead, it is work saved:
  glyphs rasterised once per text and size and blended (8 one-digit tags: 0.13 instead of 0.18 ms on a
  640x360 frame), a circle filled as a ring instead of stroked segment by segment (1.4x).
- Within 3x of the floor: at 640x360 the floor is ~0.08 ms (12,000 fps), so 8 objects at ~10 us each already
  make 2x. The last table times the same variants with the 8 objects shrunk to 6x6 px, and with none:
  what a tiny object costs is fixed (a dozen Python statements and OpenCV calls an object), the rest is
  pixels. `masks` and `id_tags_som` spend several microseconds an object whatever its size. OpenCV's calls on a
  box-sized crop of the frame also pay per row (a masked copy into a 124-row crop costs 3x the same copy
  on contiguous arrays), which is why the batched steps below put crops side by side.
- Order of the rounds: each contender now comes right after each other one equally often (a Williams design).
  The earlier order alternated (A B C D, D C B A), which put our variant right after supervision's chain in
  half the rounds and the floor never; supervision's ~100 MB of temporaries leave the caches cold for
  whatever runs next, and object-bound work suffers from that more than the floor's streaming. With the
  old order `id_tags_som+masks` measured 3.1-3.3x where rounds without supervision gave 2.9-3.0x.
- What made the slowest rows faster in this round (x floor at 640x360, last round's recorded run -> now):
  - `masks` (2.3x -> 1.4-1.6x) and `id_tags_som+masks` (3.2x -> 2.2-2.3x): a compiled kernel (numba) draws
    every object of a frame in one call and one pass over each crop: per byte of a crop row, leave, blend
    (`float32(s) * (1 - a) + a * colour`, rounded as `cv2.addWeighted` rounds) or paint the outline colour,
    chosen from one class buffer built for all crops side by side (mask 1, outline band 2, from the same
    single morphology call as before). OpenCV needs three calls an object for this (blend, masked copy,
    outline copy), each over the whole crop, and their fixed cost is most of it at this size. The kernel
    loops over bytes, not pixels: a loop over pixels and their three channels is not vectorised by the
    compiler and cost as much as OpenCV. Both engines give the same pixels (tested); the "(opencv
    engine)" rows time the fallback, used where numba is not installed: `masks` 2.1-2.2x, but the chain
    with Set-of-Mark tags 2.8-3.2x, so without numba that one row can miss the 3x goal.
  - `id_tags` (1.5-1.6x -> 1.0x) and `id_tags+spotlight` (2.7x -> 2.2x): STVG-R1's anchor (middle row of
    the mask, mean x on it) of all objects in one compiled call that scans each row only up to its first
    mask pixel; it was five numpy calls an object (8 us each). The OpenCV twin takes a row-wise maximum
    and a first moment within the mask's tight box.
  - `spotlight blur` (2.9x -> 2.7x): the shrunk frame is filtered with `sepFilter2D` and `GaussianBlur`'s
    own kernel, within a level of `GaussianBlur`, whose exact fixed-point path for uint8 costs 3x as much
    on an 80x45 frame. The rest is OpenCV's bilinear enlargement back to full size (~0.1 ms).
  - Each mask's tight box and pixel count (`extents`) now come with the masks from `masks_for_clip`,
    read off the crop it warps (a bounding rectangle and a count, ~5 us an object: mask preparation takes
    0.61-0.64 instead of 0.57 ms a frame at 640x360, still 4.9x faster than the whole-frame baseline). Every
    mask renderer of every variant of a sample reads them instead of counting each mask again, and works
    on the mask's own box rather than its object's box plus a margin. The renderer rows above get them
    from the clip, as in `vcprep render`; their cost is in the mask-preparation table.
- Earlier rounds (before -> after, x floor at 640x360):
  - feathered spotlight (4.4 -> 2.6x): the weight is built only on the rows the lit boxes reach, as the
    product over boxes of `1 - w` from one outer product of two cached 1-D ramps each (read by slicing),
    and darkening and feathering are one multiplication of the source by a per-pixel gain.
  - `id_tags_som` (3.1 -> 1.1x): a tag is opaque, so the box with its number is rendered once per ID and
    size and copied; the interior search samples each mask to ~24 px (an exact full-resolution search
    when no sample lands on the mask) and runs one distance transform for all objects side by side.
  - outlines of all objects from one morphology call on their crops side by side (edges cut by the frame
    replicated, so a cut mask is not outlined along the cut); cached glyphs drawn as
    `frame * keep / 255 + paint` from two uint8 patches; chains copy each frame once (`render_chain`);
    a circle filled as a ring; blur on a frame shrunk by repeated 2x2 means.
- Before any renderer runs, the render stage makes the clip's masks from the tracks' RLE masks
  (`masks_for_clip`, last table). That cost more than drawing every mask-based prompt together: each
  mask was decoded whole and warped into a whole frame (OpenCV's nearest-neighbour warp of a 640x360
  frame, ~0.33 ms, for a mask covering a few percent of it), and each object's row was found by scanning
  every row of the video. Now only the mask's bounding box, read off the runs, is expanded and warped
  (the same pixels: a test compares them with whole-frame warps), rows come from an index of the tracked
  frames the clip needs, and the run-length text is decoded with numpy instead of a loop per character.
- JPEG encoding (quality 90) costs more than drawing any single prompt: it is reported apart above.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--write", action="store_true", help="replace the '## Renderers' section of BENCHMARKS.md")
    parser.add_argument(
        "--variants", default="", help="comma-separated variant labels to time (all by default; not with --write)"
    )
    args = parser.parse_args()
    cases = CASES
    if args.variants:
        wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = sorted(set(wanted) - {c.label for c in CASES})
        if unknown or args.write:
            parser.error(
                f"unknown variants {unknown}; known: {[c.label for c in CASES]}"
                if unknown
                else "--write needs every variant"
            )
        cases = [c for c in CASES if c.label in wanted]
    results, extra = bench(args.frames, args.repeats, cases)
    text = markdown(results, extra) + "\n\nGoals, as measured in this run:\n\n" + goals(results) + "\n"
    print(text)
    if args.write:
        pinned = "pinned (no trimming, no mmap for frames)" if extra["pinned"] else "left as found (no mallopt)"
        intro = SECTION_INTRO.format(sv=sv.__version__, repeats=args.repeats, pinned=pinned)
        write_section("Renderers", intro + "\n" + text + "\n" + NOTES)


if __name__ == "__main__":
    main()
