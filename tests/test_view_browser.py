"""`vcprep view` in a real browser (Debian chromium through Selenium): each step asserts what the page shows.

One server and one browser for the module: dataset 0 is the demo dataset, dataset 1 the demo's rows written
again under edits (another target ID, an unmatched copy, a temporal copy, an errors table), and an eval report
built by vctrain's own report builder from two answers (a wrong ID, and a right one for a sample the dataset
lacks). Set VCPREP_VIEW_SCREENSHOT=PATH to keep the sample page's screenshot (the README's image).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from view_support import CHROMEDRIVER, CHROMIUM, chromium, derived_dataset, serving

from vcprep.dataset.files import append_jsonl
from vcprep.dataset.reader import iter_rows
from vcprep.view.api import ViewApp
from vcshard.layout import ERRORS_PATH
from vcshard.manifest import load_manifest

WAIT_S = 20


@pytest.fixture(scope="module")
def rows(demo_dataset: Path) -> dict[str, dict[str, Any]]:
    return {r["variant"]: r for r in iter_rows(demo_dataset)}


@pytest.fixture(scope="module")
def wrong_id(rows: dict) -> int:
    """A track other than the target that is visible on the first annotated key frame."""
    row = rows["id_tags"]
    key = row["key_frame"].index(True)
    return min(t for t in row["frame_track_ids"][key] if t != row["target_id"])


@pytest.fixture(scope="module")
def second(demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = derived_dataset(demo_dataset, tmp_path_factory.mktemp("view") / "second", [
        lambda r: {**r, "target_id": 3},  # another recipe matched another track
        lambda r: {**r, "sample_id": "walker-unmatched", "target_id": None},
        lambda r: {**r, "sample_id": "walker-temporal", "task": "temporal_grounding", "source": "charades_sta"},
    ])  # fmt: skip
    append_jsonl(out / ERRORS_PATH, {"stage": "render", "file": "vtest.avi", "sample_id": "walker-unmatched",
                                     "reason": "variant spotlight: no box to light"})  # fmt: skip
    append_jsonl(out / ERRORS_PATH, {"stage": "decode", "file": "gone.mp4", "sample_id": "gone-1",
                                     "reason": "cannot open video"})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def eval_run(rows: dict, wrong_id: int, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vctrain.config import load_config
    from vctrain.evaluation.evaluate import build_report

    row = rows["id_tags"]
    start, end = row["gt_span_seconds"]
    texts = [f"<think>the <obj>man</obj><box>[500, 180, 530, 280]</box>at<t>7.0</t>s</think>"
             f"<answer>Target ID: {wrong_id}, Time range: 5.00 to 9.00</answer>",
             f"<think>the walker</think><answer>Target ID: {row['target_id']}, Time range: {start:.2f} to {end:.2f}"
             "</answer>"]  # fmt: skip
    cfg = load_config(None, ["eval.variant=id_tags", "rewards={format_stvg: 1.0, tiou: 1.0, id_match: 1.0}"])
    report = build_report([row, {**row, "sample_id": "not-in-dataset"}], texts, cfg, checkpoint="tiny", model="tiny")
    run = tmp_path_factory.mktemp("run")
    (run / "eval.json").write_text(json.dumps(report))
    return run


@pytest.fixture(scope="module")
def base(demo_dataset: Path, second: Path, eval_run: Path) -> Any:
    with serving(ViewApp.open([demo_dataset, second], eval_run=eval_run)) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Any:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing: run `make browser` (Debian chromium + chromium-driver)")
    with chromium() as driver:
        yield driver


def open_page(driver: Any, url: str) -> None:
    """Load a route and wait until the app has drawn it (body[data-ready] changes on every route)."""
    before = driver.execute_script("return document.body ? document.body.dataset.ready || '' : ''")
    driver.get(url)
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready || ''") not in ("", before))


def wait_for(driver: Any, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def values(driver: Any, table: str) -> dict[str, str]:
    """A two-column table of the page as {data-key: shown value}."""
    return {r.get_attribute("data-key"): r.find_element("css selector", ".value").text
            for r in css(driver, f"{table} tr[data-key]")}  # fmt: skip


def box_of(rect: Any) -> list[float]:
    return [float(v) for v in rect.get_attribute("data-box").split(",")]


def drawn_xywh(rect: Any) -> list[float]:
    return [float(rect.get_attribute(k)) for k in ("x", "y", "width", "height")]


def test_overview_and_errors(browser: Any, base: str) -> None:
    open_page(browser, f"{base}/#/overview?ds=0")
    card = values(browser, "#card")
    assert card["samples"] == "1" and card["rows"] == "5"
    assert card["variants"] == "boxes: 1, id_tags: 1, raw: 1, spotlight: 1, temporal_crop: 1"
    quality = values(browser, "#quality")
    assert quality["match rate"] == "1"
    wait_for(browser, lambda d: not css(d, "#figures-progress"))  # the tube figures arrive from the background
    charts = {c.get_attribute("data-label"): c for c in css(browser, "svg.hist")}
    assert set(charts) == {"oracle vIoU (best single track)", "answer ceiling vIoU (best ID + span)", "IDs per video"}
    for chart in charts.values():  # one sample, one video: every histogram holds exactly one
        assert sum(int(b.get_attribute("data-count")) for b in chart.find_elements("css selector", "rect.bar")) == 1
    assert css(browser, "#errors")[0].text == "No failed inputs."

    open_page(browser, f"{base}/#/overview?ds=1")
    errors = css(browser, "#errors tr.error-row")
    assert [e.find_elements("css selector", "td")[0].text for e in errors] == ["render", "decode"]
    assert errors[1].find_elements("css selector", "a") == []  # gone.mp4: nothing in the dataset to link to
    errors[0].find_element("css selector", "a").click()
    wait_for(browser, lambda d: css(d, "#sample-page"))
    assert css(browser, "#sample-page")[0].get_attribute("data-id") == "walker-unmatched"


def listed(driver: Any) -> list[str]:
    return [r.get_attribute("data-id") for r in css(driver, "#sample-list tr.sample-row")]


def apply_filters(driver: Any, **values: str) -> None:
    from selenium.webdriver.support.ui import Select

    for name, value in values.items():
        field = css(driver, f"#filters [name={name}]")[0]
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    before = driver.execute_script("return document.body.dataset.ready")
    css(driver, "#apply")[0].click()
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready") != before)


def test_filter_the_sample_list(browser: Any, base: str) -> None:
    open_page(browser, f"{base}/#/samples?ds=1")
    assert listed(browser) == ["vtest-walker-0001", "walker-unmatched", "walker-temporal"]
    apply_filters(browser, matched="no")
    assert listed(browser) == ["walker-unmatched"]
    assert css(browser, "#count")[0].text.startswith("1 samples")
    assert css(browser, "tr.sample-row td.target")[0].text == "not matched"
    assert css(browser, "tr.sample-row td.has-error")[0].text == "yes"  # the errors table names it
    apply_filters(browser, matched="", task="temporal_grounding")
    assert listed(browser) == ["walker-temporal"]
    assert css(browser, "tr.sample-row td.source")[0].text == "charades_sta"

    open_page(browser, f"{base}/#/samples?ds=0")
    apply_filters(browser, ceiling_min="0.5")  # the demo's oracle vIoU is 0.39
    assert listed(browser) == []
    apply_filters(browser, ceiling_min="0.3", matched="yes", task="stvg")
    assert listed(browser) == ["vtest-walker-0001"]
    thumb = css(browser, "tr.sample-row img.thumb")[0]
    wait_for(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb))
    assert browser.execute_script("return arguments[0].naturalWidth", thumb) == 160


def frame_label(driver: Any) -> str:
    return css(driver, "#frame-label")[0].text


def test_sample_page_variants_scrubber_overlay(browser: Any, base: str, rows: dict, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(browser, f"{base}/#/samples?ds=0")
    css(browser, "a.sample-link")[0].click()
    wait_for(browser, lambda d: css(d, "#sample-page"))
    row = rows["id_tags"]
    info = values(browser, "#sample-info")
    assert info["question"] == row["question"] and info["answer"] == row["answer"]
    assert css(browser, ".variant-tab.selected")[0].text == "id_tags"  # the first rendered variant
    assert frame_label(browser).startswith(f"frame 1 of {len(row['frames'])} · video frame 0 ")

    key = row["key_frame"].index(True)  # an annotated frame: the ground-truth box is exact there
    scrubber = css(browser, "#scrubber")[0]
    scrubber.send_keys(Keys.HOME)
    for _ in range(key):
        css(browser, "#scrubber")[0].send_keys(Keys.ARROW_RIGHT)
    frame_index, pts = row["frame_indices"][key], row["pts_seconds"][key]
    assert frame_label(browser).startswith(f"frame {key + 1} of {len(row['frames'])} · video frame {frame_index} ·")
    assert "annotated key frame" in frame_label(browser)
    assert float(css(browser, "#cursor")[0].get_attribute("data-seconds")) == pts
    rendered = css(browser, "#rendered img")[0]
    assert f"variant=id_tags&i={key}" in rendered.get_attribute("src")
    loaded = "return arguments[0].naturalWidth"
    wait_for(browser, lambda d: d.execute_script(loaded, rendered) == row["frame_width"])

    gt = row["gt_boxes"][row["gt_frame_indices"].index(frame_index)]
    x1, y1, x2, y2 = box_of(css(browser, "#rendered rect.gt")[0])
    assert [x1, y1, x2, y2] == pytest.approx(gt)
    xywh = [gt[0], gt[1], gt[2] - gt[0], gt[3] - gt[1]]  # SVG rect: corner, width, height
    assert drawn_xywh(css(browser, "#rendered rect.gt")[0]) == pytest.approx(xywh)
    ids = row["frame_track_ids"][key]
    target = row["frame_track_boxes"][key][ids.index(row["target_id"])]
    assert box_of(css(browser, "#rendered rect.target")[0]) == pytest.approx(target)
    overlay = css(browser, "#rendered svg.overlay")[0]
    viewbox = browser.execute_script("return arguments[0].getAttribute('viewBox')", overlay)
    assert viewbox == f"0 0 {row['frame_width']} {row['frame_height']}"  # boxes drawn in stored-frame pixels
    assert css(browser, "#raw img")[0].get_attribute("src").endswith(f"variant=raw&i={key}")  # the raw frame beside

    css(browser, "#show-gt")[0].click()
    assert css(browser, "#rendered rect.gt") == [] and css(browser, "#rendered rect.target")
    css(browser, "#show-gt")[0].click()
    assert box_of(css(browser, "#rendered rect.gt")[0]) == pytest.approx(gt)
    css(browser, "#show-tracks")[0].click()
    drawn = sorted(tuple(round(v, 3) for v in box_of(r)) for r in css(browser, "#rendered rect.track"))
    assert drawn == sorted(tuple(round(v, 3) for v in b) for b in row["frame_track_boxes"][key])
    css(browser, "#show-tracks")[0].click()

    lanes = {g.get_attribute("data-lane") for g in css(browser, "#timeline g.lane")}
    assert {"clip", "ground truth"} | {f"ID {i}" for i in set(row["tube_track_ids"])} <= lanes
    span = css(browser, "#timeline rect.gt-span")[0]
    assert [float(span.get_attribute("data-start")), float(span.get_attribute("data-end"))] == row["gt_span_seconds"]

    css(browser, "button.variant-tab[data-variant=spotlight]")[0].click()
    assert css(browser, ".variant-tab.selected")[0].text == "spotlight"
    assert f"variant=spotlight&i={key}" in css(browser, "#rendered img")[0].get_attribute("src")
    assert f"video frame {frame_index} ·" in frame_label(browser)  # the same frame in the other variant
    strip = {f.get_attribute("data-variant"): f for f in css(browser, "#variants figure.variant-thumb")}
    assert list(strip) == list(rows)
    crop = rows["temporal_crop"]  # other frames: the nearest in time is shown, and said so
    nearest = min(range(len(crop["pts_seconds"])), key=lambda i: abs(crop["pts_seconds"][i] - pts))
    assert int(strip["temporal_crop"].get_attribute("data-frame-index")) == crop["frame_indices"][nearest]
    css(browser, "button.variant-tab[data-variant=id_tags]")[0].click()

    done = "return arguments[0].complete"
    wait_for(browser, lambda d: all(d.execute_script(done, i) for i in css(d, "#sample-page img")))
    shot = os.environ.get("VCPREP_VIEW_SCREENSHOT")
    target_png = Path(shot) if shot else tmp_path / "sample_page.png"
    browser.set_window_size(1400, 1350)
    browser.save_screenshot(str(target_png))
    with Image.open(target_png) as shot_image:  # the README's copy: 1000 px wide, 256 colours
        assert shot_image.width >= 1000
        small = shot_image.convert("RGB")
        small.thumbnail((1000, 1000))
        small.quantize(256).save(target_png, optimize=True)
    assert target_png.stat().st_size > 10_000


def test_model_answers(browser: Any, base: str, rows: dict, wrong_id: int) -> None:
    open_page(browser, f"{base}/#/eval?ds=0")
    listed_rows = css(browser, "#eval-list tr.eval-row")
    assert [r.get_attribute("data-id") for r in listed_rows] == ["vtest-walker-0001", "not-in-dataset"]  # worst first
    viou = [float(r.find_element("css selector", "td.viou").text) for r in listed_rows]
    assert viou[0] < viou[1]
    assert "not in this dataset" in listed_rows[1].text
    assert listed_rows[0].find_element("css selector", "td.pred-id").text == str(wrong_id)
    assert float(listed_rows[0].find_element("css selector", "td[data-reward=id_match]").text) == 0.0
    assert float(listed_rows[1].find_element("css selector", "td[data-reward=id_match]").text) == 1.0
    css(browser, "th[data-sort=viou]")[0].click()  # sort again: best first
    wait_for(browser, lambda d: [r.get_attribute("data-id") for r in css(d, "#eval-list tr.eval-row")]
             == ["not-in-dataset", "vtest-walker-0001"])  # fmt: skip

    open_page(browser, f"{base}/#/sample?ds=0&id=vtest-walker-0001")
    parsed = values(browser, "#parsed")
    assert parsed["target ID"] == str(wrong_id) and parsed["span (s)"] == "5.00 to 9.00"
    pred = css(browser, "#timeline rect.pred-span")[0]
    assert [float(pred.get_attribute("data-start")), float(pred.get_attribute("data-end"))] == [5.0, 9.0]
    row = rows["id_tags"]
    key = row["key_frame"].index(True)  # 7.0 s: inside the predicted span
    browser.execute_script("const s = document.getElementById('scrubber'); s.value = arguments[0];"
                           "s.dispatchEvent(new Event('input'));", key)  # fmt: skip
    ids = row["frame_track_ids"][key]
    wrong_box = row["frame_track_boxes"][key][ids.index(wrong_id)]
    assert box_of(css(browser, "#rendered rect.pred")[0]) == pytest.approx(wrong_box)
    assert row["pts_seconds"][key] == 7.0  # the claim's <t>7.0</t>: its box is drawn on this frame
    assert [box_of(r) for r in css(browser, "#rendered rect.claim")] == [[500.0, 180.0, 530.0, 280.0]]
    claim_lane = css(browser, "#timeline rect.claim-time")[0]
    assert float(claim_lane.get_attribute("data-start")) == 7.0
    browser.execute_script("const s = document.getElementById('scrubber'); s.value = 0;"
                           "s.dispatchEvent(new Event('input'));")  # fmt: skip
    assert css(browser, "#rendered rect.pred") == []  # 0 s lies outside the predicted span
    assert css(browser, "#rendered rect.claim") == []  # and 7 s away from the claim


def test_compare_two_datasets(browser: Any, base: str) -> None:
    open_page(browser, f"{base}/#/compare")
    found = {r.get_attribute("data-id"): r for r in css(browser, "#compare-list tr.compare-row")}
    assert list(found) == ["vtest-walker-0001", "walker-unmatched", "walker-temporal"]
    assert "target_id" in found["vtest-walker-0001"].find_element("css selector", "td.differs").text
    assert "absent" in found["walker-temporal"].text  # only in dataset 1
    css(browser, "a.only-diff")[0].click()
    wait_for(browser, lambda d: d.execute_script("return location.hash").endswith("only_diff=1"))
    wait_for(browser, lambda d: len(css(d, "#compare-list tr.compare-row")) == 3)  # every sample differs


def test_bad_input_pages(browser: Any, second: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(second, damaged)
    bad = load_manifest(damaged)[1]["shard"]
    (damaged / bad).write_bytes((damaged / bad).read_bytes()[:-50])
    (tmp_path / "empty").mkdir()
    app = ViewApp.open([damaged, tmp_path / "empty"], eval_run=tmp_path / "no-such-run")
    with serving(app) as address:
        open_page(browser, f"{address}/#/samples?ds=0")
        problems = [p.text for p in css(browser, "#problems .problem")]
        assert problems and all(bad in p for p in problems)
        assert listed(browser) == ["vtest-walker-0001", "walker-unmatched"]  # the damaged shard's sample is left out
        open_page(browser, f"{address}/#/overview?ds=1")
        page = css(browser, "#error")[0].text
        assert "cannot be opened" in page and "not a vcprep dataset" in page and "meta/info.json" in page
        open_page(browser, f"{address}/#/eval?ds=0")
        assert "no such eval run" in css(browser, "#error")[0].text
        open_page(browser, f"{address}/#/sample?ds=0&id=../../etc/passwd")
        assert "no sample" in css(browser, "#error")[0].text
