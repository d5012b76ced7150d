"""Frame files and clip files an export points at, and the paths written into its rows.

Why clip files: EasyR1 reads a row's video through qwen-vl-utils' video reader, sampling at one global
`data.video_fps`; a frame list there is always told 2 frames a second. A clip file written at the row's own
rate, with its frames' exact bytes (JPEG frames are muxed as Motion-JPEG without re-encoding), makes that reader
take every frame and compute the row's true spacing (`second_per_grid_ts`), for any row rate.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from vcprep.core.errors import InputError, resolve_under

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


def contained(folder: Path, path: str) -> Path:
    """`path` under `folder`; when it would escape (a sample id such as `../x` or `/x`) the same path with
    `.`/`..` parts and leading slashes percent-encoded, so the export neither writes outside OUT nor fails."""
    try:
        return resolve_under(folder, path)
    except InputError:
        parts = [p.replace(".", "%2E") if p in (".", "..") else p for p in path.split("/") if p]
        return resolve_under(folder, "/".join(parts))


def _write_if_changed(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.stat().st_size != len(data):
        target.write_bytes(data)


def write_frames(row: dict[str, Any], out: Path) -> list[Path]:
    """Write a row's encoded frames as files under OUT/frames (bytes unchanged); return where they went."""
    paths = []
    for frame in row["frames"]:
        target = contained(out / FRAMES_DIR, frame["path"])
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

    target = contained(out / CLIPS_DIR, f"{row['sample_id']}/{row['variant']}.avi")
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
