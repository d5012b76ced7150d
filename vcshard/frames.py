"""Stored frames checked from their header, before anything decodes them.

A frame's bytes come from a shared folder: they may be another format than the shard format
allows (GIF, BMP, TIFF, WebP, PPM, ICO, EPS: decoders with their own histories, EPS handed to
Ghostscript by Pillow), or a valid JPEG/PNG whose header declares 30000x30000 pixels in a few
hundred bytes (a decompression bomb: gigabytes once decoded). Both are refused here, reading
only the header: the format must be JPEG or PNG (the one the dataset's recipe chose, when
known), and the declared size must be the row's own `frame_width` x `frame_height`, which must
itself be under a global cap. A decoder then never allocates more than the row says, and the
row can never say more than the cap.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_FRAME_SIDE_PIXELS = 8192
"""No stored frame may be wider or taller (renders keep `output.max_side`, far below)."""
MAX_FRAME_PIXELS = 7680 * 4320
"""No stored frame may hold more pixels (8K UHD; about 100 MB once decoded to RGB)."""
FORMATS = ("jpeg", "png")
"""The encodings the shard format allows for `frames[].bytes`."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_OTHER_FORMATS = (  # (magic at offset 0, name): only for the message
    (b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"RIFF", "RIFF/WebP"),
    (b"\x00\x00\x01\x00", "ICO"), (b"%!PS", "EPS"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"P1", "PBM"), (b"P2", "PGM"),
    (b"P3", "PPM"), (b"P4", "PBM"), (b"P5", "PGM"), (b"P6", "PPM"), (b"\x00\x00\x00\x0cjP", "JPEG 2000"),
)


@dataclass(frozen=True)
class FrameHeader:
    """What a frame's header declares."""

    format: str
    """`jpeg` or `png`."""
    width: int
    height: int


class FrameHeaderError(ValueError):
    """The bytes are not a JPEG or PNG with a readable size."""


def read_frame_header(data: bytes) -> FrameHeader:
    """Format and declared size of encoded frame bytes, from the header alone (FrameHeaderError otherwise)."""
    if data[:8] == _PNG_SIGNATURE:
        return _png_header(data)
    if data[:2] == b"\xff\xd8":  # JPEG's start-of-image marker
        return _jpeg_header(data)
    name = next((n for magic, n in _OTHER_FORMATS if data.startswith(magic)), "")
    if name.startswith("RIFF") and data[8:12] != b"WEBP":
        name = "RIFF"
    raise FrameHeaderError(f"{name or 'unknown'} data, not JPEG or PNG" if data else "empty frame bytes")


def _png_header(data: bytes) -> FrameHeader:
    # the first chunk must be IHDR: length 13, then width and height as big-endian uint32
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise FrameHeaderError("PNG without an IHDR chunk first")
    width, height = struct.unpack(">II", data[16:24])
    return FrameHeader("png", width, height)


def _jpeg_header(data: bytes) -> FrameHeader:
    # walk the marker segments up to the first start-of-frame (SOFn: height, width after precision)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise FrameHeaderError(f"damaged JPEG header (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers carry no length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            break  # end of image or scan data before any frame header
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return FrameHeader("jpeg", width, height)
        if length < 2:
            raise FrameHeaderError(f"damaged JPEG header (a segment of length {length} at byte {pos})")
        pos += 2 + length
    raise FrameHeaderError("JPEG without a frame header (no SOF marker)")


def size_problem(width: object, height: object) -> str | None:
    """Why a row's `frame_width` x `frame_height` is not a size a frame may have, or None."""
    if not (isinstance(width, int) and isinstance(height, int)) or width <= 0 or height <= 0:
        return f"frame_width x frame_height {width!r} x {height!r} is not a positive size"
    if max(width, height) > MAX_FRAME_SIDE_PIXELS or width * height > MAX_FRAME_PIXELS:
        return (f"frame size {width}x{height} is above the limit ({MAX_FRAME_SIDE_PIXELS} pixels a side, "
                f"{MAX_FRAME_PIXELS} pixels)")
    return None


def frame_problem(data: bytes | None, width: object, height: object, expected_format: str | None = None) -> str | None:
    """Why stored frame bytes must not be decoded for a row of `width` x `height`, or None.

    Reads the header only. `expected_format` (`jpeg` or `png`, from the dataset's recipe) narrows
    the allowed formats to that one."""
    if not data:
        return "empty frame bytes"
    try:
        header = read_frame_header(data)
    except FrameHeaderError as exc:
        return str(exc)
    if expected_format in FORMATS and header.format != expected_format:
        return f"{header.format.upper()} data, the dataset stores {expected_format.upper()} frames"
    too_big = size_problem(width, height)
    if too_big:
        return too_big
    if (header.width, header.height) != (width, height):
        return f"header declares {header.width}x{header.height}, the row says {width}x{height}"
    return None


def recipe_image_format(config: object) -> str | None:
    """The frame encoding a dataset's recipe chose (`output.image_format` in info.json's `config`), or None when
    it names none the format allows (a hand-made folder): then JPEG and PNG are both accepted."""
    output = config.get("output") if isinstance(config, dict) else None
    value = output.get("image_format") if isinstance(output, dict) else None
    return value if value in FORMATS else None
