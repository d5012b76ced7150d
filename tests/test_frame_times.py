"""The frame-time rule: a sampled time maps to the nearest frame, round(t * video_fps), for frames and key items."""

from __future__ import annotations

import numpy as np

from vcprep.core.types import KeyItem, Sample, VideoInfo
from vcprep.decode.video import sample_frame_indices
from vcprep.render.answers import resolve_key_items

TEN_FPS = VideoInfo(path="ten.mp4", fps=10.0, frame_count=40, width=64, height=48)
PAL = VideoInfo(path="pal.mp4", fps=25.0, frame_count=100, width=64, height=48)


def test_a_time_maps_to_the_nearest_frame_not_the_one_on_screen() -> None:
    """3 fps over a 10 fps video: t = 0, 1/3, 2/3, 1, 4/3 s -> t * 10 = 0, 3.33, 6.67, 10, 13.33.
    round (video.py, `np.round(times * info.fps)`): 0, 3, 7, 10, 13. floor (the frame on screen at t) would give 6 at
    2/3 s, 0.67 of a frame period early, where 7 is 0.33 late: every sampled frame lies within half a period."""
    idx = sample_frame_indices(info=TEN_FPS, fps=3.0, end_seconds=1.5)
    assert idx.tolist() == [0, 3, 7, 10, 13]
    assert np.abs(idx / TEN_FPS.fps - np.arange(5) / 3.0).max() <= 0.5 / TEN_FPS.fps + 1e-9


def test_exact_halves_go_to_the_even_frame() -> None:
    """2 fps over 25 fps: t * 25 = 0, 12.5, 25, 37.5, 50, 62.5 -> half to even: 0, 12, 25, 38, 50, 62."""
    assert sample_frame_indices(info=PAL, fps=2.0, end_seconds=3.0).tolist() == [0, 12, 25, 38, 50, 62]


def test_key_items_follow_the_same_rule() -> None:
    """answers.py `round(item.time_seconds * info.fps)`: 2/3 s on the 10 fps video is frame 7, as sampled above;
    1.5 s on the 25 fps video is frame 38 (37.5, half to even)."""
    for info, time_seconds, frame in [(TEN_FPS, 2 / 3, 7), (PAL, 1.5, 38)]:
        sample = Sample(sample_id="s", video_path=info.path, question="q",
                        key_items=(KeyItem("man", time_seconds, (1.0, 1.0, 9.0, 9.0)),))
        (item,) = resolve_key_items(sample, info, np.ones(4))
        assert item.frame_index == frame
        assert frame in sample_frame_indices(info=info, fps=1.0 / time_seconds, end_seconds=2 * time_seconds)
