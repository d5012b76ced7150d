"""Each renderer checked on pixels of a real frame against expectations computed here from the
sources' formulas (STVG-R1's ID tag, VisionCoach's darken), never against numbers copied from a run."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from renderer_fixtures import changed, ink_box, make_clip, source_frame, vtest_clip
from scipy import ndimage

from vcprep.core.config import _parse_variant
from vcprep.render.renderers import RENDERERS, build_renderer, chain_hint
from vcprep.render.renderers.palette import palette_color

FONT = cv2.FONT_HERSHEY_SIMPLEX


def render(name: str, clip, **params):
    return build_renderer(name, params).render(clip)


def grey_frame(width: int, height: int, value: int = 128) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


# ---------------------------------------------------------------- id_tags (STVG-R1)


def expected_ink(text: str, centre: tuple[float, float], font_scale: float, thickness: int) -> np.ndarray:
    """Ink box (x1, y1, x2, y2) of `text` whose text box (getTextSize's w x h) is centred on `centre`:
    the glyphs are drawn once on a blank canvas to learn where the ink lies inside the text box."""
    (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
    pad = 4 * thickness + 4
    canvas = np.zeros((h + base + 2 * pad, w + 2 * pad), np.uint8)
    cv2.putText(canvas, text, (pad, pad + h), FONT, font_scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas > 100)
    # text box top-left on the canvas is (pad, pad); in the frame it is centre - (w/2, h/2)
    dx, dy = centre[0] - w / 2 - pad, centre[1] - h / 2 - pad
    return np.array([xs.min() + dx, ys.min() + dy, xs.max() + 1 + dx, ys.max() + 1 + dy])


def stvg_anchor(mask: np.ndarray) -> tuple[float, float]:
    """STVG-R1: middle row of the mask, mean x of the mask pixels on that row."""
    rows = np.flatnonzero(mask.any(axis=1))
    y = rows[len(rows) // 2]
    return float(np.flatnonzero(mask[y]).mean()), float(y)


@pytest.mark.parametrize("size", [(320, 180), (1920, 1080)])
def test_id_tag_is_red_sized_by_the_formula_and_centred_at_the_mask_centre(size: tuple[int, int]) -> None:
    W, H = size
    # an L-shaped mask: its STVG anchor is not the box centre
    mask = np.zeros((H, W), bool)
    mask[H // 4: 3 * H // 4, W // 4: W // 4 + W // 10] = True
    mask[3 * H // 4 - H // 10: 3 * H // 4, W // 4: W // 2] = True
    ys, xs = np.nonzero(mask)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    src = grey_frame(W, H)
    out = render("id_tags", make_clip([src], box, [7], masks=mask[None])).images[0]

    ink = changed(src, out, 100)
    font_scale = (20 / 30) * max(H, W) / 336
    thickness = max(2, int(2 * font_scale))
    expected = expected_ink("7", stvg_anchor(mask), font_scale, thickness)
    assert np.abs(np.array(ink_box(ink)) - expected).max() <= 2, (ink_box(ink), expected)
    strong = out[ink & changed(src, out, 100)].astype(int)
    assert (strong[:, 0] > strong[:, 1] + 60).mean() > 0.9  # red in RGB


def test_id_tags_fall_back_to_the_box_centre_and_stay_inside_the_frame() -> None:
    W, H = 320, 180
    src = grey_frame(W, H)
    centre_box = np.array([[100, 50, 140, 130]], np.float32)
    out = render("id_tags", make_clip([src], centre_box, [3])).images[0]
    font_scale = (20 / 30) * W / 336
    expected = expected_ink("3", (120, 90), font_scale, max(2, int(2 * font_scale)))
    assert np.abs(np.array(ink_box(changed(src, out, 100))) - expected).max() <= 2
    # a box in the corner: the tag is shifted in, whole (as wide as the text), not cut by the edge
    corner = np.array([[300, 170, 320, 180]], np.float32)
    out = render("id_tags", make_clip([src], corner, [88])).images[0]
    x1, y1, x2, y2 = ink_box(changed(src, out, 40))
    font_scale = (20 / 30) * W / 336
    (tw, th), _ = cv2.getTextSize("88", FONT, font_scale, max(2, int(2 * font_scale)))
    assert x2 <= W and y2 <= H and (x2 - x1) >= tw - 2 and (y2 - y1) >= th - 2


def test_id_tags_sit_on_the_people_of_a_real_frame() -> None:
    clip = vtest_clip(640, 480)
    out = render("id_tags", clip).images[0]
    ink = changed(clip.images[0], out, 60)
    _labels, n = ndimage.label(ndimage.binary_dilation(ink, iterations=3))
    assert n == 3
    for k, (bx1, by1, bx2, by2) in enumerate(clip.boxes[0]):
        _ys, xs = np.nonzero(ink[int(by1):int(by2), int(bx1):int(bx2)])
        assert len(xs) > 20, f"no tag on person {k + 1}"


# ---------------------------------------------------------------- id_tags_som (Set-of-Mark)


def test_som_tag_sits_at_the_distance_transform_maximum_on_the_id_colour() -> None:
    W, H = 640, 360
    # a C-shaped mask: its centre lies outside it, the interior maximum inside the thick bar
    mask = np.zeros((H, W), bool)
    mask[60:300, 100:180] = True
    mask[60:100, 100:400] = True
    mask[260:300, 100:400] = True
    src = grey_frame(W, H, 90)
    ys, xs = np.nonzero(mask)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    out = render("id_tags_som", make_clip([src], box, [5], masks=mask[None])).images[0]
    x1, y1, x2, y2 = ink_box(changed(src, out, 10))
    cx, cy = (x1 + x2 - 1) / 2, (y1 + y2 - 1) / 2
    edt = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    assert mask[int(round(cy)), int(round(cx))]
    assert edt[int(round(cy)), int(round(cx))] >= 0.85 * edt.max()
    # the filled box wears the ID's palette colour (most of its pixels; the rest is text)
    patch = out[y1:y2, x1:x2].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - palette_color(5)).max(axis=1) <= 2).mean() > 0.5


def test_som_draws_largest_first_so_a_small_object_inside_a_large_one_keeps_its_tag() -> None:
    W, H = 640, 360
    src = grey_frame(W, H, 90)
    big = np.zeros((H, W), bool)
    big[40:320, 100:540] = True
    small = np.zeros((H, W), bool)
    small[150:230, 290:350] = True  # where the big mask's interior maximum is, too
    boxes = np.array([[290, 150, 350, 230], [100, 40, 540, 320]], np.float32)
    out = render("id_tags_som", make_clip([src], boxes, [1, 2], masks=np.stack([small, big]))).images[0]
    for track_id in (1, 2):
        near = (np.abs(out.reshape(-1, 3).astype(int) - palette_color(track_id)).max(axis=1) <= 2).sum()
        assert near > 30, f"tag of ID {track_id} is hidden"


# ---------------------------------------------------------------- boxes, masks, palette


def test_palette_is_deterministic_and_separates_ids() -> None:
    colours = [palette_color(i) for i in range(1, 17)]
    assert colours == [palette_color(i) for i in range(1, 17)]
    d = [np.abs(np.subtract(a, b)).sum() for i, a in enumerate(colours) for b in colours[i + 1:]]
    assert min(d) > 30


def test_boxes_are_outlined_in_each_ids_colour_and_nothing_else_changes() -> None:
    clip = vtest_clip(640, 480, with_masks=False)
    src = clip.images[0]
    out = render("boxes", clip).images[0]
    t = max(1, round(640 / 320 * 2))
    outline = np.zeros(src.shape[:2], bool)
    for k, (x1, y1, x2, y2) in enumerate(np.round(clip.boxes[0]).astype(int)):
        assert tuple(out[y1 + t // 2, (x1 + x2) // 2]) == palette_color(k + 1)  # top edge
        assert tuple(out[(y1 + y2) // 2, x1]) == palette_color(k + 1)  # left edge
        outline[max(0, y1 - t):y2 + t, max(0, x1 - t):x2 + t] = True
        outline[y1 + t:y2 - t - 1, x1 + t:x2 - t - 1] = False
    assert not changed(src, out)[~outline].any()


def test_masks_blend_the_id_colour_inside_the_mask_only() -> None:
    clip = vtest_clip(640, 480)
    src = clip.images[0]
    out = render("masks", clip, opacity=0.4, outline=False).images[0]
    union = clip.masks[0].any(axis=0)
    assert not changed(src, out)[~union].any()
    for k in range(3):
        m = clip.masks[0][k]
        expected = 0.6 * src[m].astype(float) + 0.4 * np.array(palette_color(k + 1), float)
        assert np.abs(out[m].astype(float) - expected).max() <= 1.01
    # a box tracker (no masks): the box is the mask
    clip_b = vtest_clip(640, 480, with_masks=False)
    out_b = render("masks", clip_b, outline=False).images[0]
    x1, y1, x2, y2 = np.round(clip_b.boxes[0][0]).astype(int)
    inner = out_b[y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(float)
    expected = 0.5 * src[y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(float) + 0.5 * np.array(palette_color(1), float)
    assert np.abs(inner - expected).max() <= 1.01


# ---------------------------------------------------------------- spotlight (VisionCoach) and its modes


def padded(box: np.ndarray, pad: int, W: int, H: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return max(0, int(np.floor(x1)) - pad), max(0, int(np.floor(y1)) - pad), min(W, int(np.ceil(x2)) + pad), \
        min(H, int(np.ceil(y2)) + pad)


def test_spotlight_darkens_outside_the_padded_box_to_0_3_and_keeps_it_inside() -> None:
    clip = vtest_clip(640, 480)
    src = clip.images[0]
    out = render("spotlight", clip).images[0]
    xa, ya, xb, yb = padded(clip.focus_boxes[0][0], 10, 640, 480)
    lit = np.zeros(src.shape[:2], bool)
    lit[ya:yb, xa:xb] = True
    assert np.array_equal(out[lit], src[lit])
    ratio = out[~lit].astype(float).mean() / src[~lit].astype(float).mean()
    assert abs(ratio - 0.3) < 0.01
    assert np.abs(out[~lit].astype(float) - 0.3 * src[~lit]).max() <= 1.0
    # the pad is exactly 10 px: the 11th pixel left of the box is dark, the 10th lit
    y = (ya + yb) // 2
    assert np.array_equal(out[y, xa], src[y, xa]) and not np.array_equal(out[y, xa - 1], src[y, xa - 1])


def test_spotlight_focus_target_all_and_per_sample_override() -> None:
    clip = vtest_clip(640, 480)
    src = clip.images[0]
    boxes = clip.boxes[0]

    def lit_count(out: np.ndarray) -> int:
        regions = [tuple(slice(int(b[k]), int(b[k + 2])) for k in (1, 0)) for b in boxes]
        return sum(np.array_equal(out[r], src[r]) for r in regions)

    assert lit_count(render("spotlight", clip).images[0]) == 1
    assert lit_count(render("spotlight", clip, focus="all").images[0]) == 3
    clip.focus = "all"  # a sample asking for all key objects wins over the renderer's default
    assert lit_count(render("spotlight", clip).images[0]) == 3
    with pytest.raises(ValueError):
        clip.focus = "everything"
        render("spotlight", clip)


def test_spotlight_without_a_key_object_leaves_the_frame_alone() -> None:
    clip = vtest_clip(320, 240)
    clip.focus_boxes = [np.zeros((0, 4), np.float32)]
    assert np.array_equal(render("spotlight", clip).images[0], clip.images[0])


def test_spotlight_blur_and_desaturate_change_only_the_outside() -> None:
    clip = vtest_clip(640, 480)
    src = clip.images[0]
    xa, ya, xb, yb = padded(clip.focus_boxes[0][0], 10, 640, 480)
    lit = np.zeros(src.shape[:2], bool)
    lit[ya:yb, xa:xb] = True
    blurred = render("spotlight", clip, mode="blur").images[0]
    assert np.array_equal(blurred[lit], src[lit])
    grey_src, grey_out = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(float) for x in (src, blurred))
    detail = lambda g: np.abs(cv2.Laplacian(g, cv2.CV_64F))[~lit].mean()  # noqa: E731
    assert detail(grey_out) < detail(grey_src) / 3  # fine detail is gone outside
    assert abs(grey_out[~lit].mean() - grey_src[~lit].mean()) < 3  # brightness is kept
    grey = render("spotlight", clip, mode="desaturate").images[0]
    assert np.array_equal(grey[lit], src[lit])
    outside = grey[~lit].astype(int)
    assert (outside.max(axis=1) - outside.min(axis=1)).max() <= 1
    expected = cv2.cvtColor(src, cv2.COLOR_RGB2GRAY)[~lit].astype(int)
    assert np.abs(outside[:, 0] - expected).max() <= 1
    with pytest.raises(ValueError):
        build_renderer("spotlight", {"mode": "sepia"})


def test_feathered_spotlight_ramps_smoothly_from_lit_to_dark() -> None:
    W, H = 400, 200
    src = grey_frame(W, H, 200)
    box = np.array([[150, 60, 250, 140]], np.float32)
    out = render("spotlight", make_clip([src], box), feather_px=6.0).images[0][..., 0].astype(int)
    row = out[100, :]
    assert row[200] == 200 and row[10] == 60  # deep inside: the source; far outside: 0.3x
    ramp = row[110:201]
    assert (np.diff(ramp) >= 0).all()  # monotone: no step, no ring
    assert (np.diff(ramp) <= 12).all()  # soft: no jump larger than a few levels
    edge = row[140]  # the padded edge sits half-way
    assert abs(edge - (200 + 60) / 2) <= 8


# ---------------------------------------------------------------- circle, frame numbers


def test_circle_is_a_red_ellipse_through_the_box_corners() -> None:
    W, H = 640, 360
    src = grey_frame(W, H, 128)
    box = np.array([[280, 120, 360, 240]], np.float32)
    out = render("circle", make_clip([src], box)).images[0]
    ink = changed(src, out, 30)
    ys, xs = np.nonzero(ink)
    cx, cy, a, b = 320, 180, 40 * np.sqrt(2), 60 * np.sqrt(2)
    r = np.sqrt(((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2)
    t = max(1, round(640 / 320 * 2))
    assert np.abs(r - 1).max() < (t + 1) / min(a, b)
    assert (out[ink][:, 0] > 200).all() and (out[ink][:, 1:] < 60).all()
    assert not ink[130:230, 290:350].any()  # the object itself stays uncovered


@pytest.mark.parametrize("size", [(320, 180), (1920, 1080)])
def test_frame_number_is_red_bottom_right_and_scales_with_the_frame(size: tuple[int, int]) -> None:
    W, H = size
    src = grey_frame(W, H, 128)
    clip = make_clip([src, src], np.zeros((0, 4), np.float32), frame_indices=[123, 456])
    out = render("frame_numbers", clip, numbering="source")
    cap_px = 0.72 * 40 * max(W, H) / 640
    for img, text in zip(out.images, ("123", "456")):
        ink = changed(src, img, 40)
        x1, y1, x2, y2 = ink_box(ink)
        assert abs((y2 - y1) - cap_px) <= max(2, 0.1 * cap_px)  # digits are cap height tall
        assert x1 > W / 2 and y1 > H / 2  # bottom right
        assert W - x2 <= cap_px and H - y2 <= cap_px  # near the corner, inside the frame
        thickness = max(2, int(round(cap_px / 8)))
        font_scale = cv2.getFontScaleFromHeight(FONT, int(round(cap_px)), thickness)
        ex1, _, ex2, _ = expected_ink(text, (0, 0), font_scale, thickness)
        assert abs((x2 - x1) - (ex2 - ex1)) <= 3  # three digits of that font
        assert (img[ink][:, 0] > img[ink][:, 1] + 40).mean() > 0.8
    # the default numbering counts the frames the model sees: one digit, "0" and "1"
    for i, img in enumerate(render("frame_numbers", clip).images):
        x1, _, x2, _ = ink_box(changed(src, img, 40))
        ex1, _, ex2, _ = expected_ink(str(i), (0, 0), font_scale, thickness)
        assert abs((x2 - x1) - (ex2 - ex1)) <= 3


# ---------------------------------------------------------------- key frames, chains, hints, sizes


def test_key_frames_only_leaves_other_frames_byte_identical() -> None:
    image = source_frame()
    clip = make_clip([image] * 4, vtest_clip().boxes[0], key_frame=[False, True, False, True])
    for name in ("id_tags", "boxes", "spotlight", "circle", "frame_numbers", "masks", "id_tags_som"):
        out = render(name, clip, key_frames_only=True).images
        for i, is_key in enumerate(clip.key_frame):
            assert np.array_equal(out[i], image) != is_key, (name, i)


def test_a_combination_draws_in_order_and_joins_the_hints() -> None:
    variant = _parse_variant("id_tags+spotlight")
    chain = [build_renderer(r.name, r.params) for r in variant.renderers]
    clip = vtest_clip(640, 480)
    src = clip.images[0]
    out = clip
    for r in chain:
        out = r.render(out)
    img = out.images[0]
    tagged = render("id_tags", clip).images[0]
    # the target's tag is in the lit region, bright red; another person's tag was dimmed with the rest
    x1, y1, x2, y2 = np.round(clip.boxes[0][1]).astype(int)
    tag2 = changed(src, tagged, 60)[y1:y2, x1:x2]
    assert tag2.any()
    dimmed = img[y1:y2, x1:x2][tag2].astype(float)
    assert np.abs(dimmed - 0.3 * tagged[y1:y2, x1:x2][tag2]).max() <= 1.0
    x1, y1, x2, y2 = np.round(clip.boxes[0][0]).astype(int)
    assert np.array_equal(img[y1:y2, x1:x2], tagged[y1:y2, x1:x2])
    hint = chain_hint(chain)
    assert hint == f"{chain[0].hint} {chain[1].hint}" and "red number" in hint and "darkened" in hint


def test_every_prompt_carries_a_hint_and_a_recipe_may_replace_it() -> None:
    for name in RENDERERS.names():
        r = build_renderer(name)
        assert bool(r.hint) == (name != "raw"), name
    assert build_renderer("circle", {"hint": "Look at the red ring."}).hint == "Look at the red ring."
    assert "blurred" in build_renderer("spotlight", {"mode": "blur"}).hint
    with pytest.raises(KeyError):
        build_renderer("sparkles")


@pytest.mark.parametrize("name", ["id_tags", "id_tags_som", "frame_numbers"])
def test_text_reads_the_same_at_320_and_1920_px(name: str) -> None:
    heights = []
    for W, H in ((320, 180), (1920, 1080)):
        clip = vtest_clip(W, H)
        out = render(name, clip).images[0]
        ink = changed(clip.images[0], out, 40)
        labels, _n = ndimage.label(ink)
        sizes = ndimage.find_objects(labels)
        tallest = max(s[0].stop - s[0].start for s in sizes)
        heights.append(tallest / H)
    assert abs(heights[0] - heights[1]) / heights[1] < 0.25, heights


# ---------------------------------------------------------------- temporal crop


def test_temporal_crop_keeps_the_span_plus_margin_with_source_times(vtest_path) -> None:
    """Real decoding of vtest.avi: the cropped variant's frames come from [span - 1 s, span + 1 s]
    and carry the source video's times (frame index / fps), not times restarted at 0."""
    from pathlib import Path

    from vcprep.core.config import load_pipeline
    from vcprep.core.types import Sample, Tracks
    from vcprep.decode.video import probe
    from vcprep.render.rows import build_sample_rows

    cfg = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines" / "demo.yaml")
    cfg.variants = [_parse_variant("raw"), _parse_variant({"name": "crop", "renderers": [
        {"name": "temporal_crop", "margin_seconds": 1.0}]})]
    info = probe(vtest_path)
    sample = Sample(sample_id="s", video_path="vtest.avi", question="When does someone walk?", task="temporal_qa",
                    gt_span_seconds=(30.0, 34.0))
    rows = {r["variant"]: r for r in build_sample_rows(sample, video_file=vtest_path, info=info,
                                                        tracks=Tracks.empty(), config=cfg)}
    crop = rows["crop"]
    assert min(crop["pts_seconds"]) >= 29.0 - 1e-6 and max(crop["pts_seconds"]) <= 35.0 + 1e-6
    assert max(crop["pts_seconds"]) - min(crop["pts_seconds"]) >= 5.0  # the whole span is covered
    for f, t in zip(crop["frame_indices"], crop["pts_seconds"]):
        assert abs(t - f / info.fps) < 1.0 / info.fps
    assert min(rows["raw"]["pts_seconds"]) < 1.0  # the raw variant still spans the video
    assert crop["hint"] and "trimmed" in crop["hint"]
    # a span given with the sample (e.g. predicted) replaces the ground truth as the reference
    given = Sample(sample_id="g", video_path="vtest.avi", question="q", task="temporal_qa",
                   gt_span_seconds=(30.0, 34.0), extra={"crop_span_seconds": [10.0, 12.0]})
    rows = {r["variant"]: r for r in build_sample_rows(given, video_file=vtest_path, info=info,
                                                        tracks=Tracks.empty(), config=cfg)}
    assert min(rows["crop"]["pts_seconds"]) >= 9.0 - 1e-6 and max(rows["crop"]["pts_seconds"]) <= 13.0 + 1e-6


def test_temporal_crop_span_arithmetic() -> None:
    crop = build_renderer("temporal_crop", {"margin_seconds": 2.0})
    assert crop.crop_span((5.0, 8.0), (0.0, 60.0)) == (3.0, 10.0)
    assert crop.crop_span((0.5, 59.0), (0.0, 60.0)) == (0.0, 60.0)  # clamped to the clip
    assert crop.crop_span(None, (4.0, 9.0)) == (4.0, 9.0)  # nothing to crop to
    with pytest.raises(ValueError):
        build_renderer("temporal_crop", {"margin_seconds": -1})


def test_tracker_masks_reach_the_renderers_through_the_render_stage(vtest_path) -> None:
    """A track with an L-shaped mask (as SAM2 would give) on every 5th frame of vtest.avi: the stored
    `masks` frames are tinted inside the L only, not over the rest of its box."""
    from pathlib import Path

    from vcprep.core.config import load_pipeline
    from vcprep.core.masks import rle_encode
    from vcprep.core.types import Sample, Tracks
    from vcprep.dataset.preview import decode_frame
    from vcprep.decode.video import probe
    from vcprep.render.rows import build_sample_rows

    info = probe(vtest_path)
    frames = list(range(0, 41, 5))
    rles, boxes = [], []
    for f in frames:
        x0 = 200 + 2 * f  # the object moves right 2 px a frame
        m = np.zeros((info.height, info.width), bool)
        m[150:330, x0:x0 + 40] = True  # the upright bar
        m[290:330, x0:x0 + 120] = True  # the foot
        rles.append(rle_encode(m))
        boxes.append([x0, 150, x0 + 120, 330])
    tracks = Tracks(
        frame_index=np.array(frames, np.int64), pts_seconds=np.array(frames) / info.fps,
        track_id=np.ones(len(frames), np.int64), xyxy=np.array(boxes, np.float32),
        score=np.ones(len(frames), np.float32), class_id=np.zeros(len(frames), np.int32), mask_rle=rles,
        frame_indices_tracked=np.array(frames, np.int64),
    )
    cfg = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines" / "demo.yaml")
    cfg.variants = [_parse_variant("raw"), _parse_variant("masks")]
    cfg.output.image_format = "png"
    cfg.output.max_side = 384  # stored at half size: masks must be scaled too
    sample = Sample(sample_id="m", video_path="vtest.avi", question="q", clip_span_seconds=(0.0, 4.0),
                    gt_span_seconds=(0.0, 4.0), gt_boxes={f: tuple(b) for f, b in zip(frames, boxes)})
    rows = {r["variant"]: r for r in build_sample_rows(sample, video_file=vtest_path, info=info, tracks=tracks,
                                                        config=cfg)}
    raw, masked = rows["raw"], rows["masks"]
    checked = 0
    for k, f in enumerate(masked["frame_indices"]):
        if f % 5:  # between tracked frames the mask is shifted with the box; check the exact frames
            continue
        before = decode_frame(raw["frames"][k]["bytes"]).astype(float)
        after = decode_frame(masked["frames"][k]["bytes"]).astype(float)
        x0 = (200 + 2 * f) // 2
        bar = (slice(80, 140), slice(x0 + 4, x0 + 16))  # inside the L, away from the outline
        gap = (slice(80, 135), slice(x0 + 30, x0 + 56))  # inside the box, outside the L
        tinted = 0.5 * before[bar] + 0.5 * np.array(palette_color(1), float)
        assert np.abs(after[bar] - tinted).max() <= 1.01
        assert np.array_equal(after[gap], before[gap])
        checked += 1
    assert checked >= 2


# ---------------------------------------------------------------- id_tags, STVG-R1 placement
# Vectors derived by hand from STVG-R1's preprocess/mask2marker.py, `get_mask_center`:
#   cy = int((ys.min() + ys.max()) / 2)            (the row halfway between first and last, truncated)
#   cx = int(xs[ys == cy].mean())                    (mean x on that row, truncated)
#   cx = int((xs.min() + xs.max()) / 2) if that row is empty (split masks); None for an empty mask;
# and `process_single_video`: cv2.putText(frame, str(id), center, FONT_HERSHEY_SIMPLEX, font_scale,
#   red, thickness, LINE_AA), i.e. the text's bottom-left corner at the anchor, nothing moved.


def _mask(shape: tuple[int, int], *blocks: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros(shape, bool)
    for y0, y1, x0, x1 in blocks:
        m[y0:y1, x0:x1] = True
    return m


@pytest.mark.parametrize(("blocks", "anchor"), [
    ([(10, 20, 20, 30)], (24, 14)),  # rows 10..19: int(29/2) = 14 (mask_centre says 15); x mean 24.5 -> 24
    ([(10, 21, 20, 30)], (24, 15)),  # rows 10..20: int(30/2) = 15
    ([(0, 10, 0, 10), (30, 40, 50, 60)], (29, 19)),  # split: row 19 empty -> int((0 + 59) / 2) = 29
    ([(7, 8, 5, 6)], (5, 7)),  # a single pixel
    ([(4, 5, 3, 5)], (3, 4)),  # x in {3, 4}: mean 3.5 truncated to 3
    # rows 2..11: int(13 / 2) = 6; row 6 holds x 10, 11 and 40..43: mean 187 / 6 = 31.17 -> 31
    ([(2, 12, 40, 44), (6, 7, 10, 12)], (31, 6)),
])
def test_stvg_r1_anchor_vectors(blocks: list, anchor: tuple[int, int]) -> None:
    from vcprep.render.renderers.anchors import stvg_r1_anchor

    mask = _mask((48, 64), *blocks)
    assert stvg_r1_anchor(mask) == anchor
    assert stvg_r1_anchor(np.zeros((4, 4), bool)) is None


def _same_ink(out: np.ndarray, want: np.ndarray) -> None:
    """The cached glyphs equal cv2.putText up to its 8-bit coverage steps (see test_renderers_fastpaths)."""
    diff = np.abs(out.astype(int) - want.astype(int)).max(axis=2)
    assert diff.max() <= 6 and (diff > 2).sum() <= 3, diff.max()


def test_id_tags_stvg_r1_placement_is_cv2_puttext_at_the_reference_anchor() -> None:
    from vcprep.render.renderers.palette import RED
    from vcprep.render.renderers.text import stvg_font

    W, H = 640, 360
    src = cv2.resize(source_frame(), (W, H), interpolation=cv2.INTER_AREA)
    mask = _mask((H, W), (100, 180, 300, 330), (150, 180, 300, 380))  # an L: rows 100..179
    box = np.array([[300, 100, 380, 180]], np.float32)
    out = render("id_tags", make_clip([src], box, [7], masks=mask[None]), placement="stvg_r1").images[0]
    font_scale, thickness = stvg_font(src)
    want = src.copy()
    cv2.putText(want, "7", (314, 139), FONT, font_scale, RED, thickness, cv2.LINE_AA)  # int(279/2)=139, x 300..329
    _same_ink(out, want)
    # the default placement centres the text on the anchor instead: the ink differs
    centred = render("id_tags", make_clip([src], box, [7], masks=mask[None])).images[0]
    assert np.abs(centred.astype(int) - want.astype(int)).max() > 50
    # near the right edge nothing is moved into the frame: the ink is cut, as cv2.putText cuts it
    edge = _mask((H, W), (100, 180, W - 4, W))
    out = render("id_tags", make_clip([src], np.array([[W - 4, 100, W, 180]], np.float32), [88],
                                      masks=edge[None]), placement="stvg_r1").images[0]
    want = src.copy()
    cv2.putText(want, "88", (W - 3, 139), FONT, font_scale, RED, thickness, cv2.LINE_AA)
    assert (out[:, : W - 3] == src[:, : W - 3]).all()  # no ink moved left into the frame
    _same_ink(out[:, : W - 1], want[:, : W - 1])  # OpenCV anti-aliases its own cut at the last column
    with pytest.raises(ValueError, match="placement"):
        build_renderer("id_tags", {"placement": "middle"})


def test_a_sample_without_what_its_answer_is_made_from_is_a_bad_record(vtest_path) -> None:
    """A temporal MCQ with neither its span nor its letter: no row (it would have a null answer); the error names
    both missing inputs, from the task's answer template (`From <t>{start}</t>s to <t>{end}</t>s ... {option}`)."""
    from pathlib import Path

    from vcprep.core.config import load_pipeline
    from vcprep.core.errors import InputError
    from vcprep.core.types import Sample, Tracks
    from vcprep.decode.video import probe
    from vcprep.render.rows import build_sample_rows

    cfg = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines" / "demo.yaml")
    cfg.variants = [_parse_variant("raw")]
    sample = Sample(sample_id="m", video_path="vtest.avi", question="When, and what?", task="temporal_mcq",
                    options=("walks", "runs"), clip_span_seconds=(0.0, 2.0))
    with pytest.raises(InputError, match=r"^no answer: the temporal_mcq answer needs span_seconds and the option "
                                         r"letter, which the sample does not give$"):
        build_sample_rows(sample, video_file=vtest_path, info=probe(vtest_path), tracks=Tracks.empty(), config=cfg)
