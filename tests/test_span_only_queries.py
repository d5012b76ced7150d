"""An ID query without a ground-truth box inside its clip names no target: it is refused, never written with a
null answer. Tasks answered without an ID (a span) need no box and are written; without what their answer is
made of (the span) they are bad records.

A real render (vtest.avi, HOG + ByteTrack, the small shard recipe) through the CLI: the refusals are recorded
in `meta/errors.jsonl` (stage `match`, reason `no ground-truth boxes`), counted in the printed summary,
`vcprep stats` and the data card, and the exit code is 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from shard_recipes import good_records, write_recipe

pytestmark = pytest.mark.slow  # a CLI render (about 20 s on 2 cores)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path_factory.mktemp("span_only")
    records = [
        good_records()[0],  # vtest-a: boxes given, so a target (seeded in the small recipe)
        {"id": "span-only", "video": "vtest.avi", "question": "Who walks up the path?", "task": "stvg",
         "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 14.0]},
        # boxes exist, but on frames 46-106 (4.6-10.6 s), before this clip: nothing to match inside it
        {"id": "boxes-outside-clip", "video": "vtest.avi", "question": "Who walks up the path?", "task": "stvg",
         "span_seconds": [12.0, 14.0], "clip_seconds": [11.5, 16.0], "boxes": good_records()[0]["boxes"]},
        {"id": "span-question", "video": "vtest.avi", "question": "When does the man walk up the path?",
         "task": "temporal_qa", "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 14.0]},
        # a span question without its span: nothing to answer with (a bad record, whatever the tracks)
        {"id": "question-without-span", "video": "vtest.avi", "question": "When does the man walk?",
         "task": "temporal_qa", "clip_seconds": [2.0, 14.0]},
    ]
    recipe = write_recipe(folder, media_dir, records, samples_per_shard=10)
    out = folder / "out"
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "render", str(recipe), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=600)
    return done, out


def test_id_queries_without_a_box_in_their_clip_are_refused_and_span_questions_written(
        rendered: tuple[subprocess.CompletedProcess, Path]) -> None:
    done, out = rendered
    assert done.returncode == 1, done.stdout + done.stderr  # something was not written: the exit code says so
    errors = {e["sample_id"]: e for e in map(json.loads, (out / "meta/errors.jsonl").read_text().splitlines())}
    assert set(errors) == {"span-only", "boxes-outside-clip", "question-without-span"}
    assert errors["question-without-span"]["stage"] == "render"
    assert errors["question-without-span"]["reason"] == ("no answer: the temporal_qa answer needs span_seconds, "
                                                         "which the sample does not give")
    assert errors["span-only"]["stage"] == "match"
    assert errors["span-only"]["reason"].startswith("no ground-truth boxes: ")
    assert "in the sample" in errors["span-only"]["reason"]
    assert errors["boxes-outside-clip"]["reason"].startswith("no ground-truth boxes: ")
    assert "inside its clip [11.5, 16.0]" in errors["boxes-outside-clip"]["reason"]
    rows = pq.read_table(out / "data").to_pylist()
    assert {r["sample_id"] for r in rows} == {"vtest-a", "span-question"}
    for r in rows:
        assert r["answer"], r["sample_id"]  # no row without an answer
        if r["sample_id"] == "span-question":  # no ID in its answer, no target to match
            assert r["target_match"] is None and r["target_id"] is None
            assert r["answer"] != "" and "Target ID" not in r["answer"]
        else:
            assert r["target_id"] is not None and r["answer"].startswith(f"Target ID: {r['target_id']}")


def test_the_summary_stats_and_card_count_the_refusals(rendered: tuple[subprocess.CompletedProcess, Path]) -> None:
    done, out = rendered
    assert "no target: 2 samples not written (no acceptable target) {'no ground-truth boxes': 2}" in done.stdout
    stats = subprocess.run([sys.executable, "-m", "vcprep.cli", "stats", str(out), "--json"],
                           capture_output=True, text=True, timeout=120)
    assert json.loads(stats.stdout)["unanswered"] == {"no ground-truth boxes": 2}
    card = (out / "README.md").read_text()
    assert "| samples not written: no acceptable target | 2 (no ground-truth boxes: 2) |" in card
