"""Every dataset recipe of `pipelines/` rendered once per test session on its upstream-format fixture.

The recipes are the real ones; the renders only point them at the fixture annotations (`--annotations`) and at a
data root (`--data-root`) laid out like each dataset's download, holding a 12 s clip cut from vtest.avi. Used by
`test_pipelines.py` (rows, prompts, errors of each dataset) and `test_rewards.py` (VisionCoach rewards on the STGR
rows), so no recipe is rendered twice (conftest: `upstream_clip`, `upstream_renders`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
CLIP_FRAMES = 120  # 12 s of vtest.avi at 10 fps

# recipe -> (annotation fixture, folder under the data root that holds the clip)
CASES = {
    "hcstvg_v1": ("hcstvg/anno_v1/train.json", "videos"),
    "hcstvg_v2": ("hcstvg/anno_v2/train_v2.json", "videos"),
    "vidstg": ("vidstg/train_annotations.json", "video/0001"),
    "charades_sta": ("charades_sta/charades_sta_train.txt", "Charades_v1_480"),
    "vstar": ("vstar/V_STaR_test.json", "videos"),
    "stgr": ("stgr/STGR-RL.json", "videos"),
}


def write_clip(vtest_path: Path, out: Path) -> Path:
    """The first 12 s of vtest.avi as MPEG-4 (frame indices equal vtest.avi's)."""
    cap = cv2.VideoCapture(str(vtest_path))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (768, 576))
    for _ in range(CLIP_FRAMES):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    return out


def render_all(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> dict[str, tuple[Path, int, str]]:
    """Every dataset recipe rendered through the CLI: name -> (dataset dir, exit code, output); the tracks cache
    folder is under the key `"tracks"` (dataset dir, 0, "").

    The renders share one tracks cache (`--tracks`), as a user preparing several datasets from the same videos
    would: the recipes that track the same clip at the same path with the same detector and tracker settings
    detect it once (detection is nearly all of a render's time), and the others compute their own."""
    from typer.testing import CliRunner

    from vcprep.cli import app

    runner = CliRunner()
    tracks = tmp_path_factory.mktemp("tracks")
    results = {}
    for name, (ann, folder) in CASES.items():
        data_root = tmp_path_factory.mktemp(f"{name}_root")
        (data_root / folder).mkdir(parents=True)
        (data_root / folder / clip.name).write_bytes(clip.read_bytes())
        out = tmp_path_factory.mktemp(name) / "ds"
        res = runner.invoke(app, ["render", str(ROOT / "pipelines" / f"{name}.yaml"), "--out", str(out),
                                  "--data-root", str(data_root), "--annotations", str(FIX / ann), "-q",
                                  "--tracks", str(tracks)])
        results[name] = (out, res.exit_code, res.output)
    results["tracks"] = (tracks, 0, "")
    return results
