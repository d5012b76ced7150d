"""The renderers' fast paths against the plain computations they replace, on real frames.

Each fast path (chains drawing in place, cached glyphs, outlines by erosion, feathering only the
soft band in fixed point, in-place spotlight) must give what the straightforward computation,
written out here, gives: the same pixels, or within the stated levels where rounding differs.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from renderer_fixtures import ellipse_masks, make_clip, people_boxes, source_frame, vtest_clip
from scipy import ndimage

from vcprep.core.masks import _string_to_counts, rle_decode_crop, rle_encode
from vcprep.core.types import Tracks
from vcprep.render.renderers import build_renderer, render_chain
from vcprep.render.renderers.anchors import mask_centre, mask_centres
from vcprep.render.renderers.clip_masks import masks_for_clip
from vcprep.render.renderers.extents import mask_extents
from vcprep.render.renderers.palette import palette_color
from vcprep.render.renderers.spotlight import _gaussian_kernel
from vcprep.render.renderers.text import put_text

FONT = cv2.FONT_HERSHEY_SIMPLEX

CHAINS = {
    "id_tags+spotlight": [("id_tags", {}), ("spotlight", {})],
    "masks+id_tags_som": [("masks", {}), ("id_tags_som", {})],
    "boxes+circle+frame_numbers": [("boxes", {}), ("circle", {"focus": "all"}), ("frame_numbers", {})],
    "spotlight blur+id_tags": [("spotlight", {"mode": "blur", "focus": "all"}), ("id_tags", {})],
    "feathered+masks": [("spotlight", {"feather_px": 3.0}), ("masks", {"opacity": 0.3})],
    "key frames only+boxes": [("spotlight", {"key_frames_only": True}), ("boxes", {"key_frames_only": True})],
}


def _frames(n: int) -> list[np.ndarray]:
    """n distinct real frames (the stored frame shifted), as a decoder would hand them over."""
    return [np.ascontiguousarray(np.roll(source_frame(), 7 * i, axis=1)) for i in range(n)]


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_a_chain_draws_in_place_after_one_copy_and_leaves_the_decoded_frames_alone(name: str) -> None:
    images = _frames(3)
    before = [a.copy() for a in images]
    clip = make_clip(images, people_boxes(320, 240), key_frame=[True, False, True])
    chain = [build_renderer(n, p) for n, p in CHAINS[name]]
    out = render_chain(chain, clip)
    # the renderers one by one, each drawing on a fresh copy (the behaviour before chains shared frames)
    expected = clip
    for r in chain:
        expected = r.render(expected)
    for i in range(3):
        assert np.array_equal(images[i], before[i]), f"frame {i} of the input was modified"
        assert np.array_equal(out.images[i], expected.images[i]), f"frame {i} differs from the one-by-one result"
        drawn = any(not r.key_frames_only or clip.key_frame[i] for r in chain)
        assert (out.images[i] is not images[i]) == drawn  # undrawn frames are passed on, not copied


def test_a_renderer_draws_on_a_frame_its_chain_owns_and_copies_one_it_does_not() -> None:
    clip = vtest_clip(320, 240)
    frame = clip.images[0].copy()
    clip.images = [frame]
    for name, params in [("boxes", {}), ("masks", {}), ("id_tags", {}), ("frame_numbers", {})]:
        r = build_renderer(name, params)
        kept = frame.copy()
        copied = r.render(clip).images[0]
        assert copied is not frame and np.array_equal(frame, kept)
        in_place = r.render(clip, owned=[True]).images[0]
        assert in_place is frame and np.array_equal(in_place, copied)
        frame[:] = kept
    # the spotlight makes its frame anew from a shared or an owned one, and leaves that one alone
    spot = build_renderer("spotlight", {"focus": "all"})
    new = spot.render(clip).images[0]
    assert new is not frame and np.array_equal(frame, kept)
    again = spot.render(clip, owned=[True]).images[0]
    assert again is not frame and np.array_equal(again, new) and np.array_equal(frame, kept)


@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_cached_glyphs_match_opencv_puttext_on_a_real_frame(size: tuple[int, int]) -> None:
    W, H = size
    frame = cv2.resize(source_frame(), size, interpolation=cv2.INTER_LINEAR)
    scale = (20 / 30) * max(W, H) / 336
    cases = [
        ("7", scale, max(2, int(2 * scale)), (255, 0, 0)),
        ("12", 0.8 * scale, 2, (0, 0, 0)),
        ("345", 2.5 * scale, 5, (255, 255, 255)),
        ("9", scale, 2, palette_color(9)),
    ]
    for text, font_scale, thickness, color in cases:
        (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
        # in the open, and cut by each edge of the frame
        for org in [(W // 3, H // 2), (-w // 2, H // 3), (W - w // 2, H // 2), (W // 2, h // 2), (W // 4, H + base)]:
            ref, ours = frame.copy(), frame.copy()
            cv2.putText(ref, text, org, FONT, font_scale, color, thickness, cv2.LINE_AA)
            put_text(ours, text, org, font_scale, thickness, color)
            diff = np.abs(ref.astype(int) - ours.astype(int))
            # OpenCV clips a stroke's polygon at the frame's edge and anti-aliases along the cut, so the
            # outermost pixels there differ; the cached glyph is the stroke running on past the edge
            diff[:2], diff[-2:], diff[:, :2], diff[:, -2:] = 0, 0, 0, 0
            assert diff.max() <= 6, (text, org, diff.max())  # putText blends its coverage in 8-bit steps
            assert (diff > 2).sum() <= 0.05 * (ref != frame).any(axis=2).sum() + 3
            assert (ref != frame).any() == (ours != frame).any()
    blank = frame.copy()
    put_text(blank, " ", (W // 3, H // 2), scale, 2, (255, 0, 0))  # a text with no ink draws nothing
    assert np.array_equal(blank, frame)


@pytest.mark.parametrize("size", [(320, 240), (640, 360), (1280, 720)])
def test_mask_outline_is_the_masks_edge_band_of_the_line_width(size: tuple[int, int]) -> None:
    W, H = size
    clip = vtest_clip(W, H)
    src = clip.images[0]
    out = build_renderer("masks", {"opacity": 0.0}).render(clip).images[0]  # opacity 0: only the outline shows
    t = max(1, max(1, round(max(W, H) / 320 * 2)) // 2)
    for k, mask in enumerate(clip.masks[0]):
        color = np.array(palette_color(k + 1))
        painted = (out == color).all(axis=2) & (src != color).any(axis=2)
        near = ndimage.binary_dilation(mask, iterations=t) & ~ndimage.binary_erosion(mask, iterations=t)
        assert painted.any() and not (painted & ~near).any()  # nothing beyond t px of the edge
        contour = np.zeros((H, W), np.uint8)
        found, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(contour, found, -1, 1, 1)
        on_contour = contour.astype(bool)
        if t == 1:  # a 1-px outline is exactly the traced border
            assert np.array_equal(painted, on_contour)
        else:  # a wider one covers the border, t px wide across it
            assert painted[on_contour].mean() > 0.99
            width = painted.sum() / cv2.arcLength(found[0], True)  # area / length of the edge
            assert t - 0.5 <= width <= t + 0.5, width


def _soft(lo_hi: tuple[int, int], span: tuple[int, int], sigma: float, n: int) -> np.ndarray:
    """1-D step on span, blurred, with the frame edge not counting as an edge (the step runs on past it)."""
    pad = int(8 * sigma)
    step = np.zeros(n + 2 * pad)
    step[span[0] + pad : span[1] + pad] = 1.0
    if span[0] <= 0:
        step[:pad] = 1.0
    if span[1] >= n:
        step[n + pad :] = 1.0
    return ndimage.gaussian_filter1d(step, sigma, mode="nearest", truncate=4.0)[pad : pad + n]


def test_blur_kernel_matches_gaussianblur_within_a_level() -> None:
    """The blur spotlight filters its shrunk frame with `sepFilter2D` and `GaussianBlur`'s own kernel
    (3x cheaper on a small frame than `GaussianBlur`'s fixed-point path); the two agree to a level."""
    frame = cv2.resize(source_frame(), (80, 60), interpolation=cv2.INTER_AREA)
    for sigma in (0.5, 1.6, 2.4, 3.2):
        kernel = _gaussian_kernel(sigma)
        ours = cv2.sepFilter2D(frame, -1, kernel, kernel)
        reference = cv2.GaussianBlur(frame, (0, 0), sigma)
        assert np.abs(ours.astype(int) - reference).max() <= 1, sigma
        assert kernel.shape == (round(6 * sigma + 1) | 1, 1) and abs(float(kernel.sum()) - 1.0) < 1e-5


@pytest.mark.parametrize("mode", ["darken", "blur", "desaturate"])
def test_feathered_spotlight_equals_the_float_soft_union_of_its_boxes(mode: str) -> None:
    W, H = 320, 240
    clip = vtest_clip(W, H)
    boxes = np.array([[60, 50, 130, 170], [110, 90, 200, 200], [270, 150, 330, 250]], np.float32)  # overlap, edge
    clip.focus_boxes = [boxes]
    src = clip.images[0]
    sigma, pad = 4.0, 10
    r = build_renderer("spotlight", {"mode": mode, "feather_px": sigma})
    out = r.render(clip).images[0].astype(float)
    dim = r.outside(src).astype(float)
    unlit = np.ones((H, W))
    for x1, y1, x2, y2 in boxes.astype(int).tolist():
        xa, ya, xb, yb = max(0, x1 - pad), max(0, y1 - pad), min(W, x2 + pad), min(H, y2 + pad)
        unlit *= 1.0 - np.outer(_soft((0, H), (ya, yb), sigma, H), _soft((0, W), (xa, xb), sigma, W))
    lit = (1.0 - unlit)[..., None]
    expected = dim + lit * (src - dim)
    assert np.abs(out - expected).max() <= 2.0  # the Gaussian's discrete kernel and uint8 rounding
    assert np.abs(out - expected).mean() < 0.3


@pytest.mark.parametrize("engine", ["numba", "opencv"])
@pytest.mark.parametrize("size", [(320, 240), (640, 360)])
def test_masks_drawn_together_equal_one_object_at_a_time_with_overlaps_and_frame_edges(
    size: tuple[int, int], engine: str
) -> None:
    """The batched outline (all crops in one morphology call) against full-frame morphology per object:
    overlapping masks drawn largest first, and masks cut by each edge of the frame, which must not
    be outlined along the cut. 320 px draws a 1-px outline (inside the mask), 640 px a 2-px one."""
    W, H = size
    src = cv2.resize(source_frame(), size, interpolation=cv2.INTER_LINEAR)
    boxes = np.array(
        [[40, 40, 200, 200], [120, 90, 180, 230], [0, 10, 50, 90], [280, 0, 320, 60], [150, 200, 250, 240]], np.float32
    ) * (W / 320)
    masks = ellipse_masks(boxes, H, W)
    masks[2, :, :3] |= masks[2, :, 3:4]  # reach the left edge, as a mask cut by the frame does
    masks[3, :3] |= masks[3, 3:4]
    masks[3, :, -3:] |= masks[3, :, -4:-3]
    masks[4, -3:] |= masks[4, -4:-3]
    clip = make_clip([src], boxes, masks=masks)
    out = build_renderer("masks", {"opacity": 0.4, "engine": engine}).render(clip).images[0]
    t = max(1, max(1, round(max(W, H) / 320 * 2)) // 2)
    expected = src.copy()
    for k in sorted(range(len(boxes)), key=lambda k: -masks[k].sum()):
        color = palette_color(k + 1)
        m = masks[k].astype(np.uint8)
        blended = cv2.addWeighted(expected, 0.6, np.full_like(expected, color), 0.4, 0)
        expected[masks[k]] = blended[masks[k]]
        if t == 1:  # the mask's border: mask minus its 4-neighbour erosion
            cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
            band = m - cv2.erode(m, cross, borderType=cv2.BORDER_REPLICATE)
        else:  # 1 px out and 1 px in
            square = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
            band = cv2.morphologyEx(m, cv2.MORPH_GRADIENT, square, borderType=cv2.BORDER_REPLICATE)
        expected[band.astype(bool)] = color
    assert t == W // 320
    assert np.array_equal(out, expected)
    # the frame's left edge cuts mask 2: no outline along the cut (only where the mask's own edge meets it)
    cut = masks[2, :, 0] & np.roll(masks[2, :, 0], 1) & np.roll(masks[2, :, 0], -1)
    assert cut.sum() > 10 and not (out[cut, 0] == palette_color(3)).all(axis=1).any()


@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_masks_engines_draw_the_same_pixels(size: tuple[int, int]) -> None:
    """The compiled kernel against the OpenCV calls, over opacities, with and without outline, with
    overlapping masks and one cut by the frame. The kernel rounds like OpenCV's fused multiply-add
    (what its vector code does on CPUs with FMA, as here: the pixels are then equal); where OpenCV
    runs without FMA a blend may round one level apart, never more, and exactly-representable
    blends (opacity 0.5, 1.0) are equal everywhere."""
    W, H = size
    src = cv2.resize(source_frame(), size, interpolation=cv2.INTER_AREA)
    boxes = np.array([[40, 40, 200, 200], [120, 90, 180, 230], [0, 10, 50, 90], [260, 150, 320, 240]], np.float32)
    boxes *= W / 320
    masks = ellipse_masks(boxes, H, W)
    masks[2, :, :3] |= masks[2, :, 3:4]
    clip = make_clip([src], boxes, masks=masks)
    for opacity in (0.5, 0.4, 0.77, 1.0):
        for outline in (True, False):
            params = {"opacity": opacity, "outline": outline}
            compiled = build_renderer("masks", {**params, "engine": "numba"}).render(clip).images[0]
            plain = build_renderer("masks", {**params, "engine": "opencv"}).render(clip).images[0]
            diff = np.abs(compiled.astype(int) - plain)
            assert diff.max() <= (0 if opacity in (0.5, 1.0) else 1), (opacity, outline)
            assert (diff > 0).sum() < 0.01 * diff.size, (opacity, outline)
            assert not np.array_equal(compiled, src)


def test_masks_draw_into_a_view_of_a_larger_frame() -> None:
    """A frame that is a window of a larger array (a crop, a padded canvas) is drawn in place like a
    frame of its own, by either engine, and nothing outside the window changes."""
    W, H = 320, 240
    src = source_frame()
    boxes = np.array([[40, 40, 200, 200], [0, 10, 50, 90]], np.float32)
    masks = ellipse_masks(boxes, H, W)
    detections = build_renderer("masks").select(make_clip([src], boxes, masks=masks), 0)
    for engine in ("numba", "opencv"):
        alone = build_renderer("masks", {"engine": engine}).annotate(src.copy(), detections)
        canvas = np.zeros((H + 20, W + 30, 3), np.uint8)
        canvas[10 : 10 + H, 15 : 15 + W] = src
        build_renderer("masks", {"engine": engine}).annotate(canvas[10 : 10 + H, 15 : 15 + W], detections)
        assert np.array_equal(canvas[10 : 10 + H, 15 : 15 + W], alone)
        assert not canvas[:10].any() and not canvas[:, :15].any() and not canvas[10 + H :].any()


def test_mask_centres_by_either_engine_equal_stvg_r1s_definition() -> None:
    """STVG-R1's anchor, computed plainly on each whole mask: the middle of the rows holding mask
    pixels, the mean x on it rounded half to even. Masks with rows missing in the middle (two parts),
    a ring, a one-pixel mask, one on the frame's edge, one whose mean x ends in .5, and an empty one."""
    W, H = 160, 120
    masks = np.zeros((6, H, W), bool)
    masks[0, 10:20, 10:30] = True
    masks[0, 40:44, 50:53] = True  # rows 20-39 hold nothing
    cv2.circle(masks[1].view(np.uint8), (80, 60), 25, 1, 3)  # a ring: its middle row has two runs
    masks[2, 100, 7] = True
    masks[3, 0:30, 150:160] = True
    masks[4, 70:75, 20:24] = True  # mean x 21.5 rounds to 22 (half to even)
    boxes = np.array([[10, 10, 53, 44], [55, 35, 106, 86], [7, 100, 8, 101], [150, 0, 160, 30],
                      [20, 70, 24, 75], [0, 0, 10, 10]], np.float32)  # fmt: skip
    want = []
    for m, (x1, y1, x2, y2) in zip(masks, boxes.tolist()):
        rows = np.flatnonzero(m.any(axis=1))
        if not len(rows):
            want.append((round((x1 + x2) / 2), round((y1 + y2) / 2)))
            continue
        y = int(rows[len(rows) // 2])
        want.append((round(float(np.flatnonzero(m[y]).mean())), y))
    assert want[4] == (22, 72) and want[2] == (7, 100)
    mask_boxes = mask_extents(masks, boxes)[0].tolist()
    for engine in ("numba", "opencv"):
        assert mask_centres(masks, mask_boxes, boxes.tolist(), engine=engine) == want, engine
    assert [mask_centre(m, b) for m, b in zip(masks, boxes.tolist())] == want


def test_masks_engine_is_checked() -> None:
    with pytest.raises(ValueError, match="engine"):
        build_renderer("masks", {"engine": "cuda"})


def test_som_tags_equal_a_filled_box_and_puttext_and_find_thin_and_stray_masks() -> None:
    W, H = 640, 360
    src = cv2.resize(source_frame(), (W, H), interpolation=cv2.INTER_LINEAR)
    sliver = np.zeros((H, W), bool)
    sliver[40:300, 100:102] = True  # 2 px wide, 260 tall: sampled coarsely it could be missed
    stray = np.zeros((H, W), bool)
    stray[200:260, 400:470] = True  # its box (below) does not hold it
    boxes = np.array([[100, 40, 102, 300], [500, 40, 560, 100]], np.float32)
    out = build_renderer("id_tags_som").render(make_clip([src], boxes, [3, 14], masks=np.stack([sliver, stray])))
    image = out.images[0]
    for track_id, mask in ((3, sliver), (14, stray)):
        color = np.array(palette_color(track_id))
        ys, xs = np.nonzero((image == color).all(axis=2))
        cx, cy = int(round((xs.min() + xs.max()) / 2)), int(round((ys.min() + ys.max()) / 2))
        assert ndimage.binary_dilation(mask, iterations=2)[cy, cx], (track_id, cx, cy)  # centred on its mask
        # the tag is the plain drawing: a filled box in the ID's colour and the number by putText
        x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        ref = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
        ref[:] = color
        font_scale = (20 / 30) * W / 336 * 0.8
        thickness = max(1, int(round(2 * font_scale)))
        (_w, h), _ = cv2.getTextSize(str(track_id), FONT, font_scale, thickness)
        pad = max(1, int(round(0.3 * h)))
        ink = (0, 0, 0) if 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] >= 140 else (255, 255, 255)
        cv2.putText(ref, str(track_id), (pad, pad + h), FONT, font_scale, ink, thickness, cv2.LINE_AA)
        diff = np.abs(image[y1:y2, x1:x2].astype(int) - ref.astype(int))
        assert diff.max() <= 6 and (diff > 2).mean() < 0.05


def _counts_scalar(s: str) -> list[int]:
    """COCO's maskApi.c rleFrString, character by character."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            ch = ord(s[p]) - 48
            x |= (ch & 0x1F) << (5 * k)
            more = bool(ch & 0x20)
            p += 1
            k += 1
            if not more and ch & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def test_rle_counts_and_bounding_box_crops_equal_the_plain_decoding() -> None:
    rng = np.random.default_rng(0)
    cases = [rng.random((int(h), int(w))) < rng.random() for h, w in rng.integers(1, 40, (300, 2))]
    for h, w in rng.integers(1, 60, (300, 2)):
        m = np.zeros((h, w), bool)
        y, x = rng.integers(0, h), rng.integers(0, w)
        m[y : y + rng.integers(1, h + 1), x : x + rng.integers(1, w + 1)] = True
        cases.append(m)
    big = np.zeros((1080, 1920), bool)  # long runs: multi-character numbers and negative differences
    big[100:900, 300:1500] = True
    big[500:600] = True
    cases += [big, np.zeros((7, 5), bool), np.ones((7, 5), bool)]
    for m in cases:
        rle = rle_encode(m)
        assert _string_to_counts(rle.partition(":")[2]) == _counts_scalar(rle.partition(":")[2])
        crop = rle_decode_crop(rle)
        if not m.any():
            assert crop is None
            continue
        part, x0, y0, shape = crop
        ys, xs = np.nonzero(m)
        assert (x0, y0, shape) == (xs.min(), ys.min(), m.shape) and part.flags.c_contiguous
        assert np.array_equal(part.astype(bool), m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def plain_extents(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tight boxes (ends exclusive, zeros when empty) and pixel counts, from each whole mask."""
    boxes = np.zeros((len(masks), 4), np.int32)
    for k, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if len(ys):
            boxes[k] = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return boxes, masks.reshape(len(masks), -1).sum(1)


def test_mask_extents_equal_plain_extents() -> None:
    """`mask_extents` searches each mask near its box and the whole mask only when none is there: a mask
    on its box, one reaching the frame's corner, one off its box, an empty one."""
    W, H = 320, 180
    boxes = np.array([[40, 30, 90, 120], [280, 140, 320, 180], [10, 10, 30, 30], [100, 100, 140, 150]], np.float32)
    masks = ellipse_masks(boxes, H, W)
    masks[2] = False
    masks[2, 150:170, 200:260] = True  # far from its box
    masks[3] = False
    got_boxes, got_areas = mask_extents(masks, boxes)
    want_boxes, want_areas = plain_extents(masks)
    assert np.array_equal(got_boxes, want_boxes) and np.array_equal(got_areas, want_areas)
    assert got_boxes[1, 2:].tolist() == [W, H] and got_areas[3] == 0


@pytest.mark.parametrize("chain", ["masks", "id_tags", "id_tags_som", "id_tags_som+masks"])
def test_renderers_draw_the_same_with_extents_given_or_found(chain: str) -> None:
    """Renderers read the masks' extents from the clip (as `vcprep render` attaches them) or find them
    themselves: the frames are identical. The given extents are the exact ones, and one object's box is
    offset from its mask, which the renderers must not need."""
    W, H = 320, 180
    boxes = np.array([[40, 30, 90, 120], [60, 50, 140, 150], [200, 20, 260, 80]], np.float32)
    masks = ellipse_masks(boxes, H, W)
    boxes[2] += 1.5  # a box a little off its mask, within the margin `mask_extents` searches
    src = cv2.resize(source_frame(), (W, H), interpolation=cv2.INTER_AREA)
    clip = make_clip([src], boxes, masks=masks)
    given = make_clip([src], boxes, masks=masks)
    mask_boxes, mask_areas = plain_extents(masks)
    given.mask_boxes, given.mask_areas = [mask_boxes], [mask_areas]
    renderers = [build_renderer(name) for name in chain.split("+")]
    assert np.array_equal(render_chain(renderers, clip).images[0], render_chain(renderers, given).images[0])


def test_clip_masks_warped_from_their_crops_equal_whole_frame_warps() -> None:
    """`masks_for_clip` decodes and warps only each mask's bounding box; the plain computation warps
    the whole decoded mask into the stored frame. Objects move between the tracked and the clip frame,
    reach the frame's edges, leave it partly, and one tracked mask is empty."""
    SW, SH, W, H = 768, 576, 640, 360
    boxes = np.array([[40, 60, 200, 400], [600, 300, 768, 576], [0, 0, 90, 120], [300, 200, 420, 380]], np.float32)
    masks = ellipse_masks(boxes, SH, SW)
    masks[3] = False  # an empty mask
    frames, tids, xyxy, rles = [], [], [], []
    for f in (0, 4):
        for k in range(len(boxes)):
            frames.append(f)
            tids.append(k + 1)
            xyxy.append(boxes[k])
            rles.append(rle_encode(masks[k]))
    tracks = Tracks(
        frame_index=np.array(frames), pts_seconds=np.array(frames, float) / 10, track_id=np.array(tids),
        xyxy=np.array(xyxy, np.float32), score=np.ones(len(frames), np.float32),
        class_id=np.zeros(len(frames), np.int32), mask_rle=rles,
    )  # fmt: skip
    scale = np.array([W / SW, H / SH] * 2, np.float32)
    moved = boxes * scale + np.array(
        [[13.4, -7.6] * 2, [40.0, 25.0] * 2, [-30.0, -12.0] * 2, [0.0, 0.0] * 2], np.float32
    )
    clip_frames = [1, 3]
    out = masks_for_clip(tracks, clip_frames, [np.arange(1, 5)] * 2, [moved] * 2, (W, H), max_gap=2)
    assert out is not None
    for f, got, got_boxes, got_areas in zip(clip_frames, out.masks, out.mask_boxes, out.mask_areas):
        assert np.array_equal(got_boxes, plain_extents(got)[0]) and np.array_equal(got_areas, plain_extents(got)[1])
        for k in range(len(boxes)):
            sx, sy = W / SW, H / SH
            dx = (moved[k, 0] + moved[k, 2]) / 2 - (boxes[k, 0] + boxes[k, 2]) / 2 * sx
            dy = (moved[k, 1] + moved[k, 3]) / 2 - (boxes[k, 1] + boxes[k, 3]) / 2 * sy
            warp = np.float32([[sx, 0, dx], [0, sy, dy]])
            expected = cv2.warpAffine(masks[k].astype(np.uint8), warp, (W, H), flags=cv2.INTER_NEAREST).astype(bool)
            assert np.array_equal(got[k], expected), (f, k, int((got[k] != expected).sum()))
        assert got[1].any() and got[2].any() and not got[3].any()
