"""Symlinked data roots are accepted (paths still may not climb out of the root), and
`vcprep track` takes the same `--data-root` / `--annotations` overrides as `render`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from vcprep.cli import app
from vcprep.core.errors import InputError, resolve_under


@pytest.fixture()
def linked_root(tmp_path: Path, media_dir: Path) -> Path:
    """A data root that is itself a symlink and holds a symlinked folder of videos (a common layout)."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "videos").symlink_to(media_dir, target_is_directory=True)
    root = tmp_path / "root"
    root.symlink_to(store, target_is_directory=True)
    return root


def test_symlinked_root_and_folder_resolve(linked_root: Path) -> None:
    path = resolve_under(linked_root, "videos/vtest.avi")
    assert path.is_file()
    assert path.parent.parent == linked_root  # lexical: the link is kept, not replaced by its target


@pytest.mark.parametrize("relative", ["../store/videos/vtest.avi", "videos/../../x.avi", "/etc/passwd"])
def test_paths_escaping_a_symlinked_root_are_refused(linked_root: Path, relative: str) -> None:
    with pytest.raises(InputError, match=r"escapes the data root|absolute"):
        resolve_under(linked_root, relative)


def test_track_takes_data_root_and_annotations(tmp_path: Path, linked_root: Path) -> None:
    """The recipe points at nothing usable; the two options make it run on another dataset."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "t", "source": {"name": "jsonl", "annotations": "missing.jsonl", "data_root": "nowhere"},
        "decode": {"track_fps": 5.0, "track_margin_seconds": 0.0},
        "detector": {"name": "hog"},
        "tracker": {"name": "bytetrack", "params": {"frame_rate": 5.0}},
    }))
    cli = CliRunner()
    missing = cli.invoke(app, ["track", str(recipe), "--out", str(tmp_path / "t0"), "-q"])
    assert missing.exit_code == 2 and "annotation file not found" in missing.output
    ann = tmp_path / "other.jsonl"
    ann.write_text(json.dumps({"id": "s", "video": "videos/vtest.avi", "question": "who?",
                               "clip_seconds": [0.0, 2.0]}) + "\n")
    result = cli.invoke(app, ["track", str(recipe), "--out", str(tmp_path / "t1"), "-q",
                              "--data-root", str(linked_root), "--annotations", str(ann)])
    assert result.exit_code == 0, result.output
    assert "videos:   1 (1 computed" in result.output
    files = list((tmp_path / "t1").rglob("*.parquet"))
    assert files and pq.read_table(files[0]).num_rows > 0
