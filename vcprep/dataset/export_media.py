"""Frame files and clip files an export points at, and the paths written into its rows.

Why clip files: EasyR1 reads a row's video through qwen-vl-utils' video reader, sampling at one global
`data.video_fps`; a frame list there is always told 2 frames a second. A clip file written at the row's own
rate, with its frames' exact bytes (JPEG frames are muxed as Motion-JPEG without re-encoding), makes that reader
take every frame and compute the row's true spacing (`second_per_grid_ts`), for any row rate.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from vcprep.core.errors import InputError

FRAMES_DIR = "frames"
CLIPS_DIR = "clips"
_JPEG_START = b"\xff\xd8"


@dataclass(frozen=True)
class PathStyle:
    """How rows name the files an export writes, so several exports can train in one run."""

    root: Path
    """Paths are written relative to this folder (the export folder unless `--path-root` names a parent)."""
    absolute: bool = False
    """Write absolute paths instead (the files must then stay where they are)."""

    def ref(self, path: Path) -> str:
        """The path a row stores for a file the export wrote."""
        if self.absolute:
            return str(path)
        return path.relative_to(self.root).as_posix()

    @classmethod
    def for_export(cls, out: Path, root: Path | None, absolute: bool) -> PathStyle:
        """Check that OUT lies under the stated root (else its rows could not name their files from it)."""
        base = out if root is None else Path(os.path.abspath(root))
        if not absolute and base != out and base not in out.parents:
            raise InputError(f"--path-root {base}: the export folder {out} is not inside it")
        return cls(base, absolute)


FRAME_NAME_CHARS = 48
"""Characters of a sample id or variant kept readable in a frame folder's name (the rest is in its hash)."""


def safe_name(text: str) -> str:
    """A file-name-safe, distinct folder name for a sample id or a variant name.

    Sample ids come from annotation files and are arbitrary text: `ok` and `./ok`, `../x` and
    `%2E%2E/x`, ids with NUL bytes or 300 characters must give distinct names that stay inside
    the folder and that every file system accepts. The name is a readable slug (letters, digits,
    `_`, `-`; at most FRAME_NAME_CHARS) plus 16 hex digits of the sha256 of the exact text."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:FRAME_NAME_CHARS].strip("_") or "id"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}"


def frame_file(sample_id: str, variant: str, position: int, data: bytes) -> str:
    """Where a row's `position`-th frame goes under OUT/frames: one folder per (sample, variant), the
    extension from the bytes (`.png` for PNG, else `.jpg`; `vcprep verify` checks the formats)."""
    ext = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"
    return f"{FRAMES_DIR}/{safe_name(sample_id)}/{safe_name(variant)}/{position:06d}.{ext}"


def _write_if_changed(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_bytes() != data:
        target.write_bytes(data)


def write_frames(row: dict[str, Any], out: Path) -> list[Path]:
    """Write a row's encoded frames as files under OUT/frames (bytes unchanged); return where they went."""
    paths = []
    for position, frame in enumerate(row["frames"]):
        target = out / frame_file(row["sample_id"], row["variant"], position, frame["bytes"])
        _write_if_changed(target, frame["bytes"])
        paths.append(target)
    return paths


def _as_jpeg(data: bytes) -> bytes:
    if data[:2] == _JPEG_START:
        return data
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write_clip(row: dict[str, Any], out: Path, rate_fps: float) -> Path:
    """The row's frames as one Motion-JPEG AVI at `rate_fps`, padded to an even count by repeating the last
    frame (qwen-vl-utils keeps an even number of frames, floor-rounded: an odd clip would lose one).

    JPEG frames are muxed unchanged; PNG frames are re-encoded as JPEG (quality 95)."""
    import av

    target = out / CLIPS_DIR / safe_name(row["sample_id"]) / f"{safe_name(row['variant'])}.avi"
    target.parent.mkdir(parents=True, exist_ok=True)
    payloads = [_as_jpeg(f["bytes"]) for f in row["frames"]]
    payloads += payloads[-1:] * (len(payloads) % 2)
    rate = Fraction(rate_fps).limit_denominator(1000)
    tmp = target.with_name(target.name + ".tmp")
    with av.open(str(tmp), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=rate)
        stream.width, stream.height = int(row["frame_width"]), int(row["frame_height"])
        stream.pix_fmt = "yuvj420p"
        stream.time_base = 1 / rate
        for k, payload in enumerate(payloads):
            packet = av.Packet(payload)
            packet.pts = packet.dts = k
            packet.stream = stream
            packet.time_base = stream.time_base
            container.mux(packet)
    tmp.replace(target)
    return target


def clip_rate_fps(pts_seconds: Sequence[float]) -> float:
    """The rate a row's frames are told at: 1 / their mean spacing (2.0 for a single frame)."""
    if len(pts_seconds) < 2 or pts_seconds[-1] <= pts_seconds[0]:
        return 2.0
    return (len(pts_seconds) - 1) / (pts_seconds[-1] - pts_seconds[0])
