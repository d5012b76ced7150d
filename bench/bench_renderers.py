"""Frames per second of every prompt variant against supervision and a full-frame floor, same run.

For each resolution (640x360, 1280x720) the frames are real (vtest.avi, resized) with 8 objects
(person-sized boxes and elliptical full-frame masks). Each variant is timed through the real
path (`Renderer.render(clip)`, the frame copy included) and compared with, in interleaved rounds:
- its supervision equivalent (annotator or chain) on the same frames and objects, with the same
  line widths and text sizes, the copy that keeps the input intact included as well;
- the floor: one full-frame pass, `cv2.addWeighted` of two frames.
JPEG encoding (quality 90, the pipeline's default) is timed on its own.

OpenCV runs on one thread: the pipeline parallelises over videos, so per-core speed is what counts.

    python bench/bench_renderers.py [--frames 16] [--repeats 15] [--write]

`--write` replaces the "## Renderers" section of BENCHMARKS.md (and nothing else in it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from vcprep.renderers import build_renderer
from vcprep.types import Clip

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


CASES = [
    Case("id_tags", [("id_tags", {})], "label(center)"),
    Case("id_tags_som", [("id_tags_som", {})], "label(center_of_mass)"),
    Case("boxes", [("boxes", {})], "box"),
    Case("masks", [("masks", {})], "mask+polygon"),
    Case("masks (no outline)", [("masks", {"outline": False})], "mask"),
    Case("spotlight darken", [("spotlight", {"focus": "all"})], "background_overlay"),
    Case("spotlight darken feathered", [("spotlight", {"focus": "all", "feather_px": 6})], "background_overlay",
         "sv has no feathered overlay"),
    Case("spotlight blur", [("spotlight", {"mode": "blur", "focus": "all"})], "background_overlay",
         "sv has no outside-blur; nearest is its overlay"),
    Case("spotlight desaturate", [("spotlight", {"mode": "desaturate", "focus": "all"})], "background_overlay",
         "sv has no outside-desaturate; nearest is its overlay"),
    Case("circle", [("circle", {"focus": "all"})], "circle"),
    Case("frame_numbers", [("frame_numbers", {})], "draw_text"),
    Case("id_tags+spotlight", [("id_tags", {}), ("spotlight", {"focus": "all"})], "label(center)+background_overlay"),
    Case("id_tags_som+masks", [("masks", {}), ("id_tags_som", {})], "mask+polygon+label(center_of_mass)"),
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
        "draw_text": lambda s, d, i: sv.draw_text(
            s, str(i), sv.Point(s.shape[1] - 40, s.shape[0] - 30), text_color=red, text_scale=text_scale * 1.5,
            text_thickness=thick,
        ),
    }
    steps = [parts[p] for p in name.split("+")]

    def run(scene: np.ndarray, detections: sv.Detections, i: int) -> np.ndarray:
        for step in steps:
            scene = step(scene, detections, i)
        return scene

    return run


def per_frame_ms(fns: list[Callable[[], object]], frames: int, repeats: int) -> list[float]:
    """Milliseconds a frame of each function, timed in interleaved rounds (A B C, A B C, ...) so a
    burst of load from other processes hits all of them alike; the least-disturbed round counts."""
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return [1000 * b / frames for b in best]


def bench(frames_n: int, repeats: int) -> list[dict]:
    cv2.setNumThreads(1)
    return [r for width, height in RESOLUTIONS for r in bench_resolution(width, height, frames_n, repeats)]


def bench_resolution(width: int, height: int, frames_n: int, repeats: int) -> list[dict]:
    images = load_frames(width, height, frames_n)
    xyxy, ids, masks = objects(width, height)
    n = len(images)
    clip = Clip(
        images=images, frame_indices=list(range(n)), pts_seconds=[i / 10 for i in range(n)],
        track_ids=[ids] * n, boxes=[xyxy] * n, focus_boxes=[xyxy[:1]] * n, key_frame=[True] * n,
        masks=[masks] * n,
    )
    det = sv.Detections(xyxy=xyxy, tracker_id=ids, mask=masks, class_id=np.zeros(len(ids), int))
    other = images[::-1]
    bgr = [cv2.cvtColor(a, cv2.COLOR_RGB2BGR) for a in images]

    # every contender keeps its output frames until the clip is done, as the pipeline does: a frame
    # dropped at once would let the allocator hand the same warm memory back each time
    def floor_fn() -> list[np.ndarray]:
        return [cv2.addWeighted(a, 0.5, b, 0.5, 0) for a, b in zip(images, other)]

    def copy_fn() -> list[np.ndarray]:
        return [a.copy() for a in images]

    def jpeg_fn() -> None:
        for b in bgr:
            cv2.imencode(".jpg", b, [cv2.IMWRITE_JPEG_QUALITY, 90])

    copy_ms, jpeg_ms = per_frame_ms([copy_fn, jpeg_fn], n, repeats)
    scale = max(width, height) / 336
    line_px = max(1, round(max(width, height) / 320 * 2))  # our line width, given to supervision too
    results = []
    for case in CASES:
        chain = [build_renderer(name, params) for name, params in case.chain]
        svf = sv_chain(case.sv_chain, scale, line_px)

        def ours(chain: list = chain) -> Clip:
            c = clip
            for r in chain:
                c = r.render(c)
            return c

        def theirs(svf: Callable = svf) -> list[np.ndarray]:
            return [svf(a.copy(), det, i) for i, a in enumerate(images)]

        floor_ms, ours_ms, sv_ms = per_frame_ms([floor_fn, ours, theirs], n, repeats)
        results.append({
            "resolution": f"{width}x{height}", "variant": case.label, "ours_ms": ours_ms, "sv": case.sv_chain,
            "sv_ms": sv_ms, "floor_ms": floor_ms, "copy_ms": copy_ms, "jpeg_ms": jpeg_ms, "note": case.sv_note,
        })
    return results


def markdown(results: list[dict]) -> str:
    lines = [
        "| resolution | variant | ours fps | supervision (chain) | sv fps | speed-up vs sv | x floor | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['resolution']} | {r['variant']} | {1000 / r['ours_ms']:.0f} | {r['sv']} | {1000 / r['sv_ms']:.0f} | "
            f"{r['sv_ms'] / r['ours_ms']:.1f}x | {r['ours_ms'] / r['floor_ms']:.1f} | {r['note']} |"
        )
    lines.append("")
    lines.append("| resolution | floor: addWeighted, best of all rows (ms / fps) | frame copy (ms) | "
                 "JPEG q90 encode, not in any row above (ms / fps) |")
    lines.append("|---|---|---|---|")
    for resolution in dict.fromkeys(r["resolution"] for r in results):
        rows = [r for r in results if r["resolution"] == resolution]
        floor = min(r["floor_ms"] for r in rows)
        lines.append(f"| {resolution} | {floor:.3f} / {1000 / floor:.0f} | {rows[0]['copy_ms']:.3f} | "
                     f"{rows[0]['jpeg_ms']:.2f} / {1000 / rows[0]['jpeg_ms']:.0f} |")
    return "\n".join(lines)


def goals(results: list[dict]) -> str:
    """The issue's three goals, each met or not, with the offending rows named."""
    slower = [f"{r['variant']} @ {r['resolution']}" for r in results if r["ours_ms"] > r["sv_ms"]]
    spot = [r for r in results if r["variant"] == "spotlight darken"]
    spot_bad = [f"{r['resolution']} ({r['sv_ms'] / r['ours_ms']:.1f}x)" for r in spot if r["sv_ms"] / r["ours_ms"] < 3]
    floor_bad = [f"{r['variant']} @ {r['resolution']} ({r['ours_ms'] / r['floor_ms']:.1f}x)"
                 for r in results if r["ours_ms"] > 3 * r["floor_ms"]]
    spot_best = ", ".join(f"{r['resolution']} {r['sv_ms'] / r['ours_ms']:.1f}x" for r in spot)
    verdict = lambda bad: "met" if not bad else "NOT met: " + "; ".join(bad)  # noqa: E731
    return "\n".join([
        f"- No variant slower than its supervision equivalent: {verdict(slower)}.",
        f"- `spotlight` >= 3x faster than `BackgroundOverlayAnnotator` ({spot_best}): {verdict(spot_bad)}.",
        f"- Every variant within 3x of the full-frame floor: {verdict(floor_bad)}.",
    ])


NOTES = """Reading the goals:
- Where ours and supervision tie (boxes, circle, frame numbers, STVG tags: 0.9-1.1x), both spend most of
  the time on the frame copy (see "frame copy" above; a decoded frame is shared by all variants of a
  sample, so drawing on a copy is required) and the few shapes drawn cost microseconds; the sign of the
  difference changes from run to run on this shared machine. Strictly, that goal is not met in every run.
- Masks with outlines, feathered spotlight edges and blur are the costly variants at 640x360 (contour
  tracing per object; a float blend over each padded box; a shrink-blur-enlarge of the whole frame). They
  stay far ahead of supervision's nearest chain but do not fit within 3x of one full-frame pass there.
  Without outlines (`masks: {outline: false}`) and with hard edges (the default, VisionCoach's), they do.
- What made the rest fast: work confined to each object's box (never a full-frame pass per object), the
  darkened/grey frame computed once and the lit boxes pasted back (no mask), blur on a frame shrunk by a
  power of two, no anti-aliasing on axis-aligned lines (3x cheaper, invisible), tags anchored on crops.
- JPEG encoding (quality 90) costs more than drawing any single prompt: it is reported apart above.
"""


SECTION_INTRO = """## Renderers

Produced by `python bench/bench_renderers.py --write` (2-core CPU machine shared with other jobs, no GPU;
OpenCV on one thread since the pipeline parallelises over videos). Real vtest.avi frames resized to each
resolution, 8 person-sized objects with elliptical full-frame masks, 16 frames a clip. Each row times, in
interleaved rounds, our variant through `Renderer.render(clip)`, its supervision {sv} equivalent (same
objects, line widths and text sizes) and the floor (`cv2.addWeighted` of two frames); every contender
copies/keeps its output frames; the least-disturbed of {repeats} rounds counts. Spotlight rows light all 8
objects, as `BackgroundOverlayAnnotator` does. "x floor" = our time / floor time in the same round.
"""


def write_section(path: Path, body: str) -> None:
    """Replace (or append) the '## Renderers' section of BENCHMARKS.md, leaving the others alone."""
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    start = text.find("\n## Renderers\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + body + ("" if end < 0 else "\n" + text[end + 1:])
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="replace the '## Renderers' section of BENCHMARKS.md")
    args = parser.parse_args()
    results = bench(args.frames, args.repeats)
    text = markdown(results) + "\n\nGoals (issue 4), as measured in this run:\n\n" + goals(results) + "\n"
    print(text)
    if args.write:
        intro = SECTION_INTRO.format(sv=sv.__version__, repeats=args.repeats)
        write_section(ROOT / "BENCHMARKS.md", intro + "\n" + text + "\n" + NOTES)


if __name__ == "__main__":
    main()
