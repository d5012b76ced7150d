"""Shared fixtures: real sample media (fetched by `make media`) and one real demo dataset."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache" / "media"))

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".cache" / "ultralytics"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VCPREP_MODELS", str(ROOT / ".cache" / "models"))  # the nanodet weights (make models)
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _media(name: str) -> Path:
    path = MEDIA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make media` (scripts/fetch_media.sh) first")
    return path


@pytest.fixture(scope="session")
def media_dir() -> Path:
    _media("vtest.avi")
    return MEDIA


@pytest.fixture(scope="session")
def vtest_path() -> Path:
    return _media("vtest.avi")


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    """The demo pipeline rendered once per test session (real ssdlite detector, ByteTrack, five variants).

    Tests must treat it as read-only; copy it (`copy_dataset`) before changing anything.
    """
    from vcprep.core.config import load_pipeline
    from vcprep.pipeline import run_pipeline

    cfg = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    cfg.source.data_root = str(media_dir)
    out = tmp_path_factory.mktemp("demo") / "ds"
    summary = run_pipeline(cfg, out, progress=False)
    assert summary.failed == 0, summary.errors
    return out


@pytest.fixture()
def copy_dataset(tmp_path: Path, demo_dataset: Path):
    def _copy() -> Path:
        dst = tmp_path / "ds_copy"
        shutil.copytree(demo_dataset, dst)
        return dst

    return _copy


@pytest.fixture(scope="session")
def upstream_clip(tmp_path_factory: pytest.TempPathFactory, vtest_path: Path) -> Path:
    """The first 12 s of vtest.avi as MPEG-4, the video of every upstream-format fixture."""
    from upstream_renders import write_clip

    return write_clip(vtest_path, tmp_path_factory.mktemp("clip") / "vtest_clip.mp4")


@pytest.fixture(scope="session")
def upstream_renders(tmp_path_factory: pytest.TempPathFactory, upstream_clip: Path) -> dict[str, tuple[Path, int, str]]:
    """Every dataset recipe rendered once per session on its fixture (tests/upstream_renders.py); read-only."""
    from upstream_renders import render_all

    return render_all(tmp_path_factory, upstream_clip)


@pytest.fixture(scope="session")
def bikes_small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    """The small recipe on bikes.mp4 alone (good_records()[4:], a shard per sample), rendered once per test
    process for the tests that damage copies of a dataset; never changed itself (they work on `ds`)."""
    from shard_recipes import good_records, render_small

    return render_small(tmp_path_factory.mktemp("bikes_small"), media_dir, good_records()[4:], samples_per_shard=1)


@pytest.fixture()
def ds(bikes_small: Path, tmp_path: Path) -> Path:
    """A fresh copy of `bikes_small` for one test to damage."""
    dst = tmp_path / "ds"
    shutil.copytree(bikes_small, dst)
    return dst
