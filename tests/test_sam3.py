"""The SAM 3 text-prompted tracker — chunk linking on constructed masks, and the real transformers model
(a tiny randomly initialised config, saved and loaded as a local checkpoint) on vtest.avi frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vcprep.core.masks import mask_box, rle_decode
from vcprep.track.loop import track_video
from vcprep.track.trackers import PhraseTracker, build_tracker
from vcprep.track.trackers.sam3 import ChunkObject, link_chunk_ids
from vcprep.track.trackers.sam3_tiny import tiny_sam3_checkpoint

FRAMES = np.arange(40, 45)  # 5 frames of vtest.avi (768x576)


def _rect(y0: int, y1: int, x0: int, x1: int, size: int = 100) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_chunk_objects_keep_their_id_only_above_the_link_iou_and_for_the_same_phrase() -> None:
    previous = {7: ChunkObject(_rect(0, 10, 0, 100), 0), 9: ChunkObject(_rect(50, 60, 0, 100), 1)}
    current = {
        0: ChunkObject(_rect(0, 10, 0, 50), 0),    # IoU 500 / 1000 = 0.5: at the threshold -> keeps ID 7
        1: ChunkObject(_rect(50, 60, 0, 100), 0),  # same mask as ID 9 but another phrase -> new object
        2: ChunkObject(_rect(0, 10, 0, 49), 0),    # IoU 0.49 -> below, new object
    }
    assert link_chunk_ids(previous, current, min_iou=0.5) == {0: 7}
    # two candidates for one previous object: the better overlap wins it, the other is new
    both = {0: ChunkObject(_rect(0, 10, 0, 60), 0), 1: ChunkObject(_rect(0, 10, 0, 90), 0)}  # IoU 0.6, 0.9
    assert link_chunk_ids(previous, both, min_iou=0.5) == {1: 7}


@pytest.fixture(scope="module")
def sam3_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_sam3_checkpoint(tmp_path_factory.mktemp("sam3"))


@pytest.fixture(scope="module")
def sam3_tracker(sam3_checkpoint: Path) -> PhraseTracker:
    tracker = build_tracker("sam3", {"checkpoint": str(sam3_checkpoint), "device": "cpu", "min_mask_pixels": 1})
    assert isinstance(tracker, PhraseTracker)
    return tracker


@pytest.fixture(scope="module")
def whole_clip(sam3_tracker: PhraseTracker, vtest_path: Path):  # type: ignore[no-untyped-def]
    """One chunk holding every frame (the reference the chunked run is compared with)."""
    bound = sam3_tracker.for_phrases(["person"])
    bound.chunk_frames = 64  # type: ignore[attr-defined]
    return track_video(vtest_path, detector=None, tracker=bound, frame_indices=FRAMES)  # type: ignore[arg-type]


def _check_well_formed(tracks, frames: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    assert tracks.frame_indices_tracked.tolist() == frames.tolist()
    assert len(tracks) > 0 and tracks.mask_rle is not None
    pairs = list(zip(tracks.frame_index.tolist(), tracks.track_id.tolist()))
    assert len(pairs) == len(set(pairs)), "an ID appears twice on one frame (a shared frame emitted twice?)"
    assert set(tracks.frame_index.tolist()) <= set(frames.tolist())
    assert (tracks.xyxy[:, [0, 1]] >= 0).all() and (tracks.xyxy[:, 2] <= 768).all() and (tracks.xyxy[:, 3] <= 576).all()
    assert (tracks.xyxy[:, 2] > tracks.xyxy[:, 0]).all() and (tracks.xyxy[:, 3] > tracks.xyxy[:, 1]).all()
    assert (tracks.class_id == 0).all()  # index of the only phrase
    for k in range(len(tracks)):
        mask = rle_decode(tracks.mask_rle[k])
        assert mask.shape == (576, 768)
        assert np.allclose(mask_box(mask), tracks.xyxy[k])


@pytest.mark.slow  # SAM 3 (tiny) on CPU, 5 frames twice
def test_sam3_tracks_a_phrase_in_chunks_with_ids_linked_across_chunks(
    sam3_tracker: PhraseTracker, whole_clip, vtest_path: Path  # type: ignore[no-untyped-def]
) -> None:
    _check_well_formed(whole_clip, FRAMES)
    bound = sam3_tracker.for_phrases(["person"])
    bound.chunk_frames = 3  # type: ignore[attr-defined]  # chunks [40..42], [42..44] share frame 42
    chunked = track_video(vtest_path, detector=None, tracker=bound, frame_indices=FRAMES)  # type: ignore[arg-type]
    _check_well_formed(chunked, FRAMES)
    # Chunk 1 ([40..42]) is the same computation as the whole clip's first frames. Frame 42 is emitted by
    # chunk 2, a fresh session whose objects got their IDs only through `link_chunk_ids` on that shared frame:
    # frames 40..42 must match the whole-clip run, IDs and boxes.
    head = chunked.frame_index <= 42
    whole_head = whole_clip.frame_index <= 42
    assert 42 in chunked.frame_index.tolist()
    assert chunked.track_id[head].tolist() == whole_clip.track_id[whole_head].tolist()
    assert np.allclose(chunked.xyxy[head], whole_clip.xyxy[whole_head])
    # IDs stay unique: an object first seen in chunk 2 never reuses an ID of chunk 1
    new_in_chunk2 = set(chunked.track_id[chunked.frame_index > 42].tolist()) - set(chunked.track_id[head].tolist())
    assert not new_in_chunk2 & set(chunked.track_id[chunked.frame_index < 42].tolist())


def test_sam3_refuses_a_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gated"):
        build_tracker("sam3", {"device": "cpu"})
    with pytest.raises(FileNotFoundError, match=r"missing-sam3 has no config\.json.*gated"):
        build_tracker("sam3", {"checkpoint": str(tmp_path / "missing-sam3"), "device": "cpu"})


@pytest.mark.slow  # SAM 3 (tiny) through `vcprep track`
def test_vcprep_track_prompts_sam3_with_the_samples_object_names(
    sam3_checkpoint: Path, vtest_path: Path, tmp_path: Path
) -> None:
    """Two samples on one clip name `person` and `bicycle`: the tracker is bound to both phrases (class ids 0
    and 1, in sample order), and the phrases are part of the tracks cache key."""
    import json

    import cv2
    import pyarrow.parquet as pq
    import yaml
    from typer.testing import CliRunner

    from vcprep.cli import app
    from vcprep.decode.video import read_frames

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in read_frames(vtest_path, np.arange(40, 43)):
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    rows = [{"id": "a", "video": "clip.avi", "question": "which person?", "objects": ["person"]},
            {"id": "b", "video": "clip.avi", "question": "which bicycle?", "objects": ["bicycle"]}]
    (tmp_path / "ann.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "sam3", "source": {"name": "jsonl", "annotations": "ann.jsonl", "data_root": "."},
              "decode": {"track_fps": 10.0}, "detector": {"name": "gt"},
              "tracker": {"name": "sam3", "params": {"checkpoint": str(sam3_checkpoint), "device": "cpu",
                                                     "chunk_frames": 3, "min_mask_pixels": 1}}}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    result = CliRunner().invoke(app, ["track", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "tracks"), "-q"])
    assert result.exit_code == 0, result.output
    assert "1 computed" in result.output
    table = pq.read_table(next((tmp_path / "tracks").glob("clip.avi.f*.parquet")))
    assert set(table.column("class_id").to_pylist()) <= {0, 1} and table.num_rows > 0
    assert sorted(set(table.column("frame_index").to_pylist())) <= [0, 1, 2]
    # another phrase is another cache entry, not a hit on the person/bicycle tracks
    rows[1]["objects"] = ["dog"]
    (tmp_path / "ann.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = CliRunner().invoke(app, ["track", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "tracks"), "-q"])
    assert again.exit_code == 0 and "1 computed" in again.output, again.output


@pytest.mark.slow  # SAM 3 (tiny) through `vcprep render`
def test_a_phrase_the_detector_cannot_see_is_not_refused_when_sam3_tracks(
    sam3_checkpoint: Path, vtest_path: Path, tmp_path: Path
) -> None:
    """A `bicycle` sample with a person-only detector (`hog`): with `bytetrack` it is refused before tracking as
    `class not detectable`; with `sam3` (open vocabulary) it is tracked, and whatever happens next (the tiny
    model's random masks match nothing) it is never refused for the detector's classes."""
    import json

    import cv2
    import yaml
    from typer.testing import CliRunner

    from vcprep.cli import app
    from vcprep.decode.video import read_frames
    from vcprep.track.matching import CLASS_NOT_DETECTABLE

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in read_frames(vtest_path, np.arange(40, 43)):
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    row = {"id": "bike", "video": "clip.avi", "question": "which bicycle?", "objects": ["bicycle"],
           "span_seconds": [0.0, 0.2], "boxes": {"0": [10, 10, 200, 200], "1": [10, 10, 200, 200]}}
    (tmp_path / "ann.jsonl").write_text(json.dumps(row) + "\n")
    reasons = {}
    for tracker in ({"name": "bytetrack"}, {"name": "sam3", "params": {"checkpoint": str(sam3_checkpoint),
                                                                        "device": "cpu", "min_mask_pixels": 1}}):
        recipe = {"name": "bike", "source": {"name": "jsonl", "annotations": "ann.jsonl", "data_root": "."},
                  "decode": {"track_fps": 10.0}, "sampling": {"fps": 10.0, "max_frames": 3},
                  "detector": {"name": "hog"}, "tracker": tracker, "variants": ["raw"]}
        (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        out = tmp_path / f"out-{tracker['name']}"
        CliRunner().invoke(app, ["render", str(tmp_path / "recipe.yaml"), "--out", str(out), "-q"])
        errors = out / "meta" / "errors.jsonl"
        reasons[tracker["name"]] = [json.loads(x)["reason"] for x in errors.read_text().splitlines()] \
            if errors.is_file() else []
    assert any(CLASS_NOT_DETECTABLE in r for r in reasons["bytetrack"]), reasons
    # with sam3 the sample reached target matching (after tracking): only its verdicts may be recorded
    assert all(r.startswith(("not detected", "weak match")) for r in reasons["sam3"]), reasons


def test_ground_truth_phrases_are_its_coco_class_names_in_id_order(tmp_path: Path) -> None:
    from vcprep.core.errors import InputError
    from vcprep.track.evaluate import MotGroundTruth, ground_truth_phrases

    megamind = MotGroundTruth.load(Path(__file__).parent / "fixtures" / "multiclass_mot" / "Megamind.txt")
    # class ids 0, 27, 40, 60 in that file (person, tie, wine glass, dining table in COCO-80 order)
    assert ground_truth_phrases(megamind) == ("person", "tie", "wine glass", "dining table")
    one_class = tmp_path / "gt.txt"
    one_class.write_text("1,1,10,10,20,40,1,-1,-1,-1\n")  # MOT pedestrians: no class column
    assert ground_truth_phrases(MotGroundTruth.load(one_class)) == ("person",)
    one_class.write_text("1,1,10,10,20,40,1,80,-1,-1\n")
    with pytest.raises(InputError, match=r"class ids \[80\].*--phrase"):
        ground_truth_phrases(MotGroundTruth.load(one_class))


@pytest.mark.slow  # SAM 3 (tiny) through `vcprep evaluate`
def test_vcprep_evaluate_prompts_sam3_with_the_ground_truths_classes_or_the_given_phrases(
    sam3_checkpoint: Path, media_dir: Path, tmp_path: Path
) -> None:
    """Unbound, the text-prompted tracker finds nothing and would score zero without a word: `vcprep evaluate`
    binds it to the ground truth's class names, or to `--phrase`, and says which."""
    import yaml
    from typer.testing import CliRunner

    from vcprep.cli import app

    gt = tmp_path / "gt.txt"  # two annotated frames of Megamind (50 and 60) that show all four classes
    lines = (Path(__file__).parent / "fixtures" / "multiclass_mot" / "Megamind.txt").read_text().splitlines()
    gt.write_text("".join(ln + "\n" for ln in lines if int(ln.split(",")[0]) in (51, 61)))
    recipe = tmp_path / "sam3.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "eval", "source": {"name": "jsonl", "annotations": "a.jsonl", "data_root": str(media_dir)},
        "decode": {"track_fps": 2.4}, "detector": {"name": "gt"},
        "tracker": {"name": "sam3", "params": {"checkpoint": str(sam3_checkpoint), "device": "cpu",
                                               "chunk_frames": 2, "min_mask_pixels": 1}}}))
    args = ["evaluate", str(recipe), "--gt", str(gt), "--video", "Megamind.avi"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "phrases: person, tie, wine glass, dining table" in result.output and "HOTA" in result.output
    result = CliRunner().invoke(app, [*args, "--phrase", "woman", "--phrase", "glass"])
    assert result.exit_code == 0, result.output
    assert "phrases: woman, glass" in result.output
