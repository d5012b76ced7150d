"""Contact sheets: variants (rows) by frames (columns) of one sample, as a PNG people can look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vcprep.shards import iter_rows


def decode_frame(data: bytes) -> np.ndarray:
    """Stored frame bytes -> RGB uint8; raises ValueError when the bytes are not an image."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("frame bytes do not decode as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _label(tile: np.ndarray, text: str) -> None:
    scale = max(0.4, tile.shape[1] / 500)
    cv2.rectangle(tile, (0, 0), (tile.shape[1], int(22 * scale) + 4), (0, 0, 0), -1)
    cv2.putText(tile, text, (4, int(18 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.6,
                (255, 255, 255), 1, cv2.LINE_AA)


def contact_sheet(
    root: str | Path, *, sample_id: str | None = None, num_frames: int = 6, tile_width: int = 320
) -> tuple[np.ndarray, str]:
    """RGB image of one sample: one row per variant, `num_frames` evenly spaced frames each."""
    rows = []
    for row in iter_rows(root, columns=["sample_id", "variant", "frames", "frame_indices", "pts_seconds"]):
        if sample_id is None:
            sample_id = row["sample_id"]
        if row["sample_id"] == sample_id:
            rows.append(row)
        elif rows:
            break
    if not rows:
        raise KeyError(f"sample {sample_id!r} not found in {root}")
    sheet_rows = []
    for row in rows:
        n = len(row["frames"])
        picks = np.unique(np.round(np.linspace(0, n - 1, min(num_frames, n))).astype(int)) if n else []
        tiles = []
        for k in picks:
            img = decode_frame(row["frames"][k]["bytes"])
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


def write_contact_sheet(root: str | Path, out_png: str | Path, **kwargs) -> str:
    sheet, sample_id = contact_sheet(root, **kwargs)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {out_png}")
    return sample_id
