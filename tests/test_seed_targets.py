"""A target the detector cannot see: refused and recorded by default, seeded from its ground truth on request.

Real video and boxes drawn by hand (tests/fixtures/vidstg_bikes: the parked black bicycle of bikes.mp4,
frames 188-240, checked by eye on the drawn frames). The recipe's detector is `ssdlite`, which sees
people only, so the bicycle is never detected. The query's answer span is cut to frames 210-219 inside
its clip (frames 187-241), so a tag that appeared only where boxes are annotated would give the answer
away: with `postprocess.seed_targets` the seeded track must carry the tag before and after that span,
and its boxes there must still be on the bicycle (checked against the hand-drawn boxes the query was
not given).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from vcprep.core.geometry import box_iou_matrix
from vcprep.dataset.reader import shard_paths

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/fixtures/vidstg_bikes"
SPAN = (210, 220)  # temporal_gt of the cut query: boxes on frames 210..219 only
CLI = [sys.executable, "-m", "vcprep.cli"]
pytestmark = pytest.mark.slow  # each test renders through the CLI with ssdlite (about 20 s on an idle machine)


def hand_boxes() -> dict[int, list[float]]:
    """Every hand-drawn box of the bicycle (tid 2) in the fixture, by source frame."""
    vidor = json.loads((FIXTURE / "vidor_annotations/0000/bikes.json").read_text())
    return {f: [o["bbox"][k] for k in ("xmin", "ymin", "xmax", "ymax")]
            for f, objs in enumerate(vidor["trajectories"]) for o in objs if o["tid"] == 2}


def write_case(folder: Path, media_dir: Path, *, seed: bool) -> Path:
    """The bicycle query with its span cut to SPAN, and a vidstg recipe (ssdlite, as shipped) around it."""
    data = folder / "data_root/0000"
    data.mkdir(parents=True)
    try:  # a hard link: a symlink would resolve outside the data root
        os.link(media_dir / "bikes.mp4", data / "bikes.mp4")
    except OSError:
        shutil.copyfile(media_dir / "bikes.mp4", data / "bikes.mp4")
    shutil.copytree(FIXTURE / "vidor_annotations", folder / "vidor_annotations")
    record = next(r for r in json.loads((FIXTURE / "train_annotations.json").read_text())
                  if r["captions"][0]["target_id"] == 2)
    record["temporal_gt"] = {"begin_fid": SPAN[0], "end_fid": SPAN[1]}
    (folder / "ann.json").write_text(json.dumps([record]))
    recipe = yaml.safe_load((ROOT / "pipelines/vidstg.yaml").read_text())
    recipe["source"].update(annotations="ann.json", data_root="data_root",
                            params={"vidor_dir": "vidor_annotations", "video_dir": "", "sentences": "declarative"})
    recipe["detector"] = {"name": "ssdlite"}
    recipe["postprocess"]["seed_targets"] = seed
    recipe["variants"] = ["id_tags"]
    recipe["output"]["max_side"] = 320
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def render(recipe: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = recipe.parent / "out"
    done = subprocess.run([*CLI, "render", str(recipe), "--out", str(out), "-q"], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done, out


def test_an_undetectable_target_is_not_written_and_is_counted_everywhere(tmp_path: Path, media_dir: Path) -> None:
    done, out = render(write_case(tmp_path, media_dir, seed=False))
    assert done.returncode == 1, done.stdout + done.stderr  # the run completed, one sample was not written
    assert "no target: 1 samples not written" in done.stdout and "class not detectable" in done.stdout
    errors = [json.loads(line) for line in (out / "meta/errors.jsonl").read_text().splitlines()]
    assert [(e["stage"], e["reason"].split(":")[0]) for e in errors] == [("match", "class not detectable")]
    assert "'bicycle' (vidstg) maps to bicycle; the detector outputs person" in errors[0]["reason"]
    assert not any(pq.read_table(p).num_rows for p in shard_paths(out))
    stats = subprocess.run([*CLI, "stats", str(out), "--json"], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert json.loads(stats.stdout)["unanswered"] == {"class not detectable": 1}
    card = (out / "README.md").read_text()
    assert "| samples not written: no acceptable target | 1 (class not detectable: 1) |" in card
    assert "| bicycle | bicycle |" in card and "No detector class covers: antelope" in card


def test_a_seeded_target_is_tagged_beyond_its_answer_span_on_the_right_object(tmp_path: Path,
                                                                               media_dir: Path) -> None:
    done, out = render(write_case(tmp_path, media_dir, seed=True))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [r for p in shard_paths(out) for r in pq.read_table(p).to_pylist()]
    assert len(rows) == 1
    row = rows[0]
    assert row["target_match"] == "seeded" and row["answer"].startswith(f"Target ID: {row['target_id']},")
    assert row["target_frames_annotated"] == SPAN[1] - SPAN[0]  # the ten annotated frames in the clip
    tid, scale = row["target_id"], row["source_width"] / row["frame_width"]
    tagged = [f for f, ids in zip(row["frame_indices"], row["frame_track_ids"]) if tid in ids]
    # the leak: a tag present only on annotated frames would start at 210 and end at 219
    assert min(tagged) < SPAN[0] and max(tagged) >= SPAN[1], (tagged, row["frame_indices"])
    assert len(tagged) >= len(row["frame_indices"]) - 1
    hand = hand_boxes()
    outside = [(f, np.asarray(b) * scale) for f, t, b in zip(row["tube_frame_indices"], row["tube_track_ids"],
                                                             row["tube_boxes"])
               if t == tid and not SPAN[0] <= f < SPAN[1] and f in hand]
    assert len(outside) >= 6  # the MIL tracker carried it over most of the clip's tracked frames
    ious = [float(box_iou_matrix(np.array([b], np.float32), np.array([hand[f]], np.float32))[0, 0])
            for f, b in outside]
    assert min(ious) >= 0.5, list(zip([f for f, _ in outside], np.round(ious, 2)))
