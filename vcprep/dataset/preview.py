"""Previews people can look at: a contact sheet (variants by frames) of one sample as PNG, and
one variant of one sample as an H.264 MP4 (PyAV's libx264; OpenCV's wheel has no H.264 encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vcprep.dataset.reader import iter_rows
from vcshard.frames import FrameHeaderError, frame_problem, read_frame_header


def decode_frame(data: bytes, width: int | None = None, height: int | None = None) -> np.ndarray:
    """Stored frame bytes of a `width` x `height` row -> RGB uint8; raises ValueError when the bytes are not an image,
    or when vcshard's header check refuses them (not JPEG/PNG, another size than the row's, above the cap) before
    any decoder runs. Without the row's size, the size the header declares is only held to the cap."""
    if width is None or height is None:
        try:
            header = read_frame_header(data)
        except FrameHeaderError as exc:
            raise ValueError(f"frame refused: {exc}") from None
        width, height = header.width, header.height
    problem = frame_problem(data, width, height)
    if problem:
        raise ValueError(f"frame refused: {problem}")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("frame bytes do not decode as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _label(tile: np.ndarray, text: str) -> None:
    scale = max(0.4, tile.shape[1] / 500)
    cv2.rectangle(tile, (0, 0), (tile.shape[1], int(22 * scale) + 4), (0, 0, 0), -1)
    cv2.putText(tile, text, (4, int(18 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.6,
                (255, 255, 255), 1, cv2.LINE_AA)


def sample_rows(root: str | Path, sample_id: str | None, columns: list[str]) -> tuple[list[dict], str]:
    """Every row (one per variant) of one sample; the first sample of the dataset when none is named."""
    rows: list[dict] = []
    for row in iter_rows(root, columns=["sample_id", "variant", *columns]):
        if sample_id is None:
            sample_id = row["sample_id"]
        if row["sample_id"] == sample_id:
            rows.append(row)
        elif rows:
            break
    if not rows or sample_id is None:
        raise KeyError(f"sample {sample_id!r} not found in {root}")
    return rows, sample_id


def contact_sheet(
    root: str | Path, *, sample_id: str | None = None, num_frames: int = 6, tile_width: int = 320
) -> tuple[np.ndarray, str]:
    """RGB image of one sample: one row per variant, `num_frames` evenly spaced frames each."""
    rows, sample_id = sample_rows(root, sample_id, ["frames", "frame_indices", "pts_seconds", "frame_width",
                                                    "frame_height"])
    sheet_rows = []
    for row in rows:
        n = len(row["frames"])
        spread = np.round(np.linspace(0, n - 1, min(num_frames, n))).astype(int)
        picks: list[int] = np.unique(spread).tolist() if n else []
        tiles = []
        for k in picks:
            img = decode_frame(row["frames"][k]["bytes"], row["frame_width"], row["frame_height"])
            h = round(img.shape[0] * tile_width / img.shape[1])
            tile = cv2.resize(img, (tile_width, h), interpolation=cv2.INTER_AREA)
            _label(tile, f"{row['variant']}  f{row['frame_indices'][k]}  {row['pts_seconds'][k]:.1f}s")
            tiles.append(tile)
        while len(tiles) < num_frames:
            tiles.append(np.zeros_like(tiles[0]) if tiles else np.zeros((180, tile_width, 3), np.uint8))
        sheet_rows.append(np.concatenate(tiles, axis=1))
    height = max(r.shape[0] for r in sheet_rows)
    sheet_rows = [np.pad(r, ((0, height - r.shape[0]), (0, 0), (0, 0))) for r in sheet_rows]
    return np.concatenate(sheet_rows, axis=0), sample_id


def write_contact_sheet(root: str | Path, out_png: str | Path, **kwargs: Any) -> str:
    sheet, sample_id = contact_sheet(root, **kwargs)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {out_png}")
    return sample_id


def write_variant_mp4(
    root: str | Path, out_mp4: str | Path, variant: str, *, sample_id: str | None = None, fps: float | None = None,
    crf: int = 20,
) -> tuple[str, int]:
    """Encode one variant of one sample as H.264 (yuv420p, plays everywhere); returns (sample id, frames).

    `fps` defaults to the rate the frames were sampled at (from their source times), so the clip
    plays at the speed of the source video. Odd frame sizes are padded by one black pixel
    (4:2:0 chroma needs even sizes).
    """
    import av

    rows, sample_id = sample_rows(root, sample_id, ["frames", "pts_seconds", "frame_width", "frame_height"])
    row = next((r for r in rows if r["variant"] == variant), None)
    if row is None:
        known = ", ".join(sorted(r["variant"] for r in rows))
        raise KeyError(f"variant {variant!r} not found for sample {sample_id!r}; it has: {known}")
    if not row["frames"]:
        raise KeyError(f"variant {variant!r} of sample {sample_id!r} holds no frames")
    if fps is None:
        steps = np.diff(np.asarray(row["pts_seconds"], float))
        steps = steps[steps > 0]
        fps = float(1.0 / np.median(steps)) if len(steps) else 1.0
    images = [decode_frame(f["bytes"], row["frame_width"], row["frame_height"]) for f in row["frames"]]
    h, w = images[0].shape[:2]
    H, W = h + h % 2, w + w % 2
    Path(out_mp4).parent.mkdir(parents=True, exist_ok=True)
    from fractions import Fraction

    with av.open(str(out_mp4), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for image in images:
            if image.shape[:2] != (h, w):
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            image = np.pad(image, ((0, H - h), (0, W - w), (0, 0)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return sample_id, len(images)
