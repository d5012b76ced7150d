"""Target matching rules and class routing, on hand-made boxes whose IoUs are worked out by hand.

The ground-truth box is [0, 0, 10, 10] (area 100) on every annotated frame; a track box [0, 0, 10, h]
lies inside it, so its IoU is 10*h / 100 = h / 10 (h = 6 -> 0.6, h = 4.5 -> 0.45, h = 8 -> 0.8).
"""

from __future__ import annotations

import numpy as np
import pytest

from vcprep.core.classes import COCO_80
from vcprep.core.config import MatchConfig, PluginConfig
from vcprep.core.types import Sample, Tracks
from vcprep.dataset.card import routing_table
from vcprep.sources.routing import (
    PHRASES,
    TABLES,
    VIDOR_CATEGORIES,
    classes_needed,
    restrict_detector_classes,
    target_classes,
    uncovered_categories,
    undetectable_reason,
)
from vcprep.track.matching import NOT_DETECTED, WEAK_MATCH, match_target

GT = {f: (0.0, 0.0, 10.0, 10.0) for f in range(4)}
STRICT = MatchConfig()  # strict, min_iou 0.5, min_frames_share 0.5
PAPER = MatchConfig(convention="stvg_r1")


def tracks(*boxes: tuple[int, int, float]) -> Tracks:
    """(frame, track id, height h of the box [0, 0, 10, h]) per box; every frame 0..3 was tracked."""
    n = len(boxes)
    return Tracks(np.array([b[0] for b in boxes], np.int64), np.array([b[0] / 10 for b in boxes]),
                  np.array([b[1] for b in boxes], np.int64),
                  np.array([[0, 0, 10, b[2]] for b in boxes], np.float32).reshape(-1, 4), np.ones(n, np.float32),
                  np.zeros(n, np.int32), frame_indices_tracked=np.arange(4))


def test_the_van_case_one_vote_at_iou_045_is_refused_by_default_and_kept_by_stvg_r1() -> None:
    # the van: one annotated frame of four overlaps a false box at IoU 0.45
    t = tracks((2, 3, 4.5))
    paper = match_target(t, GT, PAPER)
    assert paper.target_id == 3 and paper.votes == {3: 1} and paper.mean_iou == pytest.approx(0.45)
    strict = match_target(t, GT, STRICT)
    assert strict.target_id is None and strict.refusal == WEAK_MATCH  # 0.45 < min_iou 0.5: no vote at all
    assert "IoU 0.45" in strict.detail and strict.frames_annotated == 4


def test_a_close_track_on_too_few_frames_is_refused_by_share() -> None:
    t = tracks((0, 5, 8.0))  # IoU 0.8 on 1 of 4 frames: 25% < 50%
    strict = match_target(t, GT, STRICT)
    assert strict.target_id is None and strict.candidate_id == 5 and strict.refusal == WEAK_MATCH
    assert strict.target_votes == 1 and strict.mean_iou == pytest.approx(0.8)
    assert "1 of 4" in strict.detail and "25%" in strict.detail
    assert match_target(t, GT, PAPER).target_id == 5


def test_a_track_holding_half_the_frames_at_iou_06_is_accepted_and_weak_votes_do_not_count() -> None:
    # frames 0, 1: track 7 at IoU 0.6; frame 2: track 3 at 0.45 (no strict vote); frame 3: nothing
    t = tracks((0, 7, 6.0), (1, 7, 6.0), (2, 3, 4.5))
    strict = match_target(t, GT, STRICT)
    assert strict.target_id == 7 and strict.votes == {7: 2} and strict.refusal is None
    assert strict.mean_iou == pytest.approx(0.6) and strict.target_votes == 2 and strict.frames_annotated == 4
    assert match_target(t, GT, PAPER).votes == {7: 2, 3: 1}  # the paper counts the 0.45 overlap too
    assert match_target(t, GT, MatchConfig(min_frames_share=0.75)).target_id is None  # 2/4 < 0.75


def test_no_overlap_is_not_detected_under_both_rules_and_ties_go_to_the_lower_id() -> None:
    far = Tracks(np.array([0], np.int64), np.zeros(1), np.array([1], np.int64),
                 np.array([[50, 50, 60, 60]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int32),
                 frame_indices_tracked=np.arange(4))
    for rule in (STRICT, PAPER):
        m = match_target(far, GT, rule)
        assert m.target_id is None and m.refusal == NOT_DETECTED
    tie = tracks((0, 9, 9.0), (1, 4, 9.0), (2, 9, 9.0), (3, 4, 9.0))  # 2 votes each at IoU 0.9
    assert match_target(tie, GT, STRICT).target_id == 4


def test_vidor_table_covers_the_80_categories_and_routes_people_vehicles_and_uncovered() -> None:
    assert len(VIDOR_CATEGORIES) == 80
    assert all(c in COCO_80 for classes in VIDOR_CATEGORIES.values() for c in classes)
    vid = lambda name: Sample("s", "v.mp4", "q", source="vidstg", object_names=(name,))  # noqa: E731
    assert target_classes(vid("adult")) == ("person",) and target_classes(vid("baby")) == ("person",)
    assert target_classes(vid("bus/truck")) == ("bus", "truck") and target_classes(vid("car")) == ("car", "truck")
    assert target_classes(vid("bicycle")) == ("bicycle",) and target_classes(vid("dog")) == ("dog",)
    assert target_classes(vid("antelope")) == ()
    assert "antelope" in uncovered_categories("vidstg") and "adult" not in uncovered_categories("vidstg")
    # a person detector cannot find a car; a COCO detector cannot find an antelope; any detector finds an adult
    assert "maps to car, truck; the detector outputs person" in (undetectable_reason(vid("car"), ("person",)) or "")
    assert "maps to no detector class" in (undetectable_reason(vid("antelope"), COCO_80) or "")
    assert undetectable_reason(vid("adult"), ("person",)) is None
    assert undetectable_reason(vid("car"), None) is None  # annotation-backed or open-vocabulary detector


def test_free_text_names_route_by_their_first_known_word() -> None:
    assert PHRASES.classes_for("man in a red coat") == ("person",)
    assert PHRASES.classes_for("black bicycle") == ("bicycle",)
    assert PHRASES.classes_for("the grey van") == ("car", "truck")
    assert PHRASES.classes_for("hot dog on a plate") == ("hot dog",)  # the word pair wins over "dog"
    assert PHRASES.classes_for("two dogs") == ("dog",)  # plural
    assert PHRASES.classes_for("wooden toy") == ()  # known, covered by no class
    assert PHRASES.classes_for("the thing") is None  # unknown: left to the target match
    stgr = Sample("s", "v.mp4", "q", source="stgr", object_names=("woman",))
    assert classes_needed([stgr, Sample("t", "v.mp4", "q", source="vidstg", object_names=("dog",))]) == [
        "person", "dog"]  # COCO order


def test_from_samples_restricts_the_detector_to_the_classes_the_samples_need() -> None:
    from vcprep.core.config import PipelineConfig, SourceConfig

    cfg = PipelineConfig("x", SourceConfig("vidstg"), detector=PluginConfig("nanodet", {"classes": "from_samples"}))
    samples = [Sample(str(i), "v.mp4", "q", source="vidstg", object_names=(n,)) for i, n in
               enumerate(("car", "adult", "bicycle", "antelope"))]
    assert restrict_detector_classes(cfg, samples).detector.params["classes"] == ["person", "bicycle", "car", "truck"]
    with pytest.raises(ValueError, match="found no detector class"):
        restrict_detector_classes(PipelineConfig("x", SourceConfig("vidstg"),
                                                 detector=PluginConfig("nanodet", {"classes": "from_samples"})),
                                  samples[3:])


@pytest.mark.parametrize("source", sorted(TABLES))
def test_each_sources_data_card_shows_its_routing_table(source: str) -> None:
    from pathlib import Path

    cards = {"vidstg": "vidstg.md", "hcstvg": "hcstvg_v1.md", "stgr": "stgr.md", "vstar": "vstar.md"}
    if source not in cards:
        pytest.skip(f"{source}: no data card of its own (JSON Lines is the project's generic format)")
    text = (Path(__file__).resolve().parents[1] / "data_cards" / cards[source]).read_text()
    assert routing_table(source) in text, f"data_cards/{cards[source]}: regenerate its class routing section"


def test_a_seeded_track_replaces_the_boxes_it_duplicates_and_ids_stay_compact() -> None:
    from vcprep.track.seeding import add_seeded_tracks, ground_truth_at

    base = Tracks(np.array([0, 0, 5, 5], np.int64), np.array([0, 0, 0.5, 0.5]), np.array([5, 2, 5, 2], np.int64),
                  np.array([[0, 0, 10, 10], [50, 50, 60, 60]] * 2, np.float32), np.ones(4, np.float32),
                  np.zeros(4, np.int32), frame_indices_tracked=np.array([0, 5, 10]))
    seed = {0: (1.0, 0.0, 11.0, 10.0), 5: (1.0, 0.0, 11.0, 10.0), 10: (2.0, 0.0, 12.0, 10.0)}
    made = add_seeded_tracks(base, [("s", seed)])
    # [1, 0, 11, 10] against track 5's [0, 0, 10, 10]: 90 / 110 = 0.82 >= 0.5, so track 5's boxes go;
    # on frame 0 the seeded box (x 1) is left of track 2 (x 50): IDs 1 (seeded) and 2
    assert made.target_of == {"s": 1}
    assert sorted(zip(made.tracks.frame_index.tolist(), made.tracks.track_id.tolist())) == [
        (0, 1), (0, 2), (5, 1), (5, 2), (10, 1)]
    # between annotated frames the ground truth is linear: frame 3 of boxes on 0 and 6
    assert ground_truth_at({0: (0, 0, 10, 10), 6: (6, 0, 16, 10)}, 3) == pytest.approx((3, 0, 13, 10))


def test_mil_following_does_not_depend_on_what_ran_before(media_dir) -> None:  # type: ignore[no-untyped-def]
    """OpenCV's MIL samples patches at random; a resumed run must still give the same seeded boxes."""
    import cv2

    from vcprep.decode.video import read_frames
    from vcprep.track.seeding import seeded_boxes

    frames = list(read_frames(media_dir / "bikes.mp4", [200, 205, 210, 215]))
    gt = {210: (268.0, 14.0, 535.0, 212.0)}
    first = seeded_boxes(frames, gt)
    cv2.randu(np.zeros((64, 64), np.float32), 0, 1)  # use the generator in between, as other code would
    assert seeded_boxes(frames, gt) == first and sorted(first) == [200, 205, 210, 215]
