"""Rewards against values computed by hand, including the sources' pitfalls (data_cards/CONVENTIONS.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from vctrain.data.groundtruth import GroundTruth, KeyFrame, ground_truth_from_row
from vctrain.rewards import REWARDS, compute_rewards
from vctrain.rewards.parse import mcq_letter, parse_claims, parse_stvg_answer
from vctrain.rewards.spatial import names_match
from vctrain.rewards.temporal import point_sigma_seconds
from vctrain.rewards.text import lcs_length

STVG = GroundTruth("stvg", answer="Target ID: 3, Time range: 10.00 to 20.00", target_id=3, span_seconds=(10.0, 20.0),
                   duration_seconds=40.0)


def wrap(answer: str, think: str = "x") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


def score(name: str, completion: str, gt: GroundTruth, **kw: object) -> float:
    return REWARDS[name](completion, gt, **kw)["score"]


# ---------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("answer", "target_id", "span"),
    [
        ("Target ID: 3, Time range: 12.54 to 17.83", 3, (12.54, 17.83)),
        ("Target ID: [3], Time range: [12 to 17]", 3, (12.0, 17.0)),  # STVG-R1's own prompt style
        ("Target ID: 3, Time range: 12s to 17s", 3, (12.0, 17.0)),  # unit suffixes
        ("Target ID:3, Time range: 12.5   and  17", 3, (12.5, 17.0)),  # "and", odd spacing
        ("Target ID: 7", 7, None),
        ("Time range: 1 to 2", None, (1.0, 2.0)),
        ("no idea", None, None),
    ],
)
def test_stvg_answer_lenient(answer: str, target_id: int | None, span: tuple[float, float] | None) -> None:
    parsed = parse_stvg_answer(answer)
    assert parsed.target_id == target_id
    assert parsed.span_seconds == span


def test_stvg_answer_paper_grammar_rejects_what_the_source_rejects() -> None:
    assert parse_stvg_answer("Target ID: 3, Time range: 12.5 to 17", grammar="paper").span_seconds == (12.5, 17.0)
    for text in ("Target ID: [3], Time range: [12 to 17]", "Target ID: 3, Time range: 12s to 17s",
                 "Target ID: 3, Time range: 12 - 17", "Target ID: 3"):
        assert parse_stvg_answer(text, grammar="paper") == parse_stvg_answer(None)
    # both_required: a missing span voids the ID too (STVG-R1's behaviour), off by default
    assert parse_stvg_answer("Target ID: 3", both_required=True).target_id is None


def test_last_vs_first_answer_tag() -> None:
    text = wrap("Target ID: 1, Time range: 0 to 1") + "<answer>Target ID: 3, Time range: 10 to 20</answer>"
    assert score("id_match", text, STVG) == 1.0  # auto: STVG reads the last <answer>
    assert score("id_match", text, STVG, answer_tag="first") == 0.0
    mcq_gt = GroundTruth("mcq", answer="B")
    two = "<think>a</think><answer>B</answer><answer>C</answer>"
    assert score("mcq", two, mcq_gt) == 1.0  # auto: VisionCoach reads the first
    assert score("mcq", two, mcq_gt, answer_tag="last") == 0.0


# ---------------------------------------------------------------- format
def test_format_stvg() -> None:
    assert score("format_stvg", "<think>a\nb</think>\n<answer>c</answer>\n", STVG) == 1.0
    assert score("format_stvg", "<answer>c</answer>", STVG) == 0.0
    assert score("format_stvg", "lead <think>a</think><answer>c</answer>", STVG) == 0.0
    assert score("format_stvg", "<think>a</think><answer>c</answer> trailing", STVG) == 0.0


def test_format_visioncoach_levels() -> None:
    st = GroundTruth("st_reasoning")
    grounded = "<think>the <obj>man</obj><box>[1,2,3,4]</box>at<t>2.0</t>s</think><answer>he walks</answer>"
    assert score("format_visioncoach", grounded, st) == 1.0
    assert score("format_visioncoach", "<think>plain</think><answer>he walks</answer>", st) == 0.5
    unpaired = "<think><obj>man</obj><box>[1,2,3,4]at<t>2.0</t>s</think><answer>a</answer>"
    assert score("format_visioncoach", unpaired, st) == 0.0
    assert score("format_visioncoach", "<think>a</think><think>b</answer>", st) == 0.0
    assert score("format_visioncoach", "no tags at all", st) == 0.0
    temporal = GroundTruth("temporal_qa", span_seconds=(1.0, 2.0))
    one_t = "<think>at <t>1.0</t>s</think><answer>From <t>1</t>s to <t>2</t>s</answer>"
    two_t = "<think>from <t>1.0</t>s to <t>2.0</t>s</think><answer>From <t>1</t>s to <t>2</t>s</answer>"
    assert score("format_visioncoach", one_t, temporal) == 0.5
    assert score("format_visioncoach", two_t, temporal) == 1.0
    assert score("format_visioncoach", "<think>a</think><answer>B</answer>", GroundTruth("mcq")) == 1.0


# ---------------------------------------------------------------- temporal IoU
def test_tiou_by_hand() -> None:
    # [12, 17] vs [10, 20]: intersection 5, union 10
    assert score("tiou", wrap("Target ID: 3, Time range: 12 to 17"), STVG) == pytest.approx(0.5)
    # [15, 25] vs [10, 20]: intersection 5, union 15
    assert score("tiou", wrap("Target ID: 3, Time range: 15 to 25"), STVG) == pytest.approx(1 / 3)
    assert score("tiou", wrap("Target ID: 3, Time range: 20 to 25"), STVG) == 0.0  # touching
    assert score("tiou", "garbage", STVG) == 0.0
    assert score("tiou", wrap("Target ID: 3, Time range: 17 to 12"), STVG) == 0.0  # reversed


def test_tiou_zero_length_union_is_zero_not_nan() -> None:
    point_gt = GroundTruth("stvg", target_id=1, span_seconds=(5.0, 5.0), duration_seconds=10.0)
    out = REWARDS["tiou"](wrap("Target ID: 1, Time range: 5 to 5"), point_gt)
    assert out["score"] == 0.0 and not math.isnan(out["score"])


def test_tiou_visioncoach_t_tags() -> None:
    gt = GroundTruth("temporal_qa", span_seconds=(2.0, 6.0))
    # [3, 7] vs [2, 6]: intersection 3, union 5
    assert score("tiou", "<think>a</think><answer>From <t>3</t>s to <t>7</t>s</answer>", gt) == pytest.approx(0.6)


def test_tiou_timer1_by_hand_and_never_negative() -> None:
    # tIoU 0.5 * (1 - 2/40) * (1 - 3/40) = 0.5 * 0.95 * 0.925
    assert score("tiou_timer1", wrap("Target ID: 3, Time range: 12 to 17"), STVG) == pytest.approx(0.439375)
    short = GroundTruth("stvg", target_id=3, span_seconds=(10.0, 20.0), duration_seconds=5.0)
    # errors (2 s, 25 s) exceed... the end error 25 s > D = 5 s: factor clamps to 0, never negative
    out = REWARDS["tiou_timer1"](wrap("Target ID: 3, Time range: 12 to 45"), short)
    assert out["tiou"] == pytest.approx(8 / 35)
    assert out["score"] == 0.0
    unknown = GroundTruth("stvg", target_id=3, span_seconds=(10.0, 20.0))
    out = REWARDS["tiou_timer1"](wrap("Target ID: 3, Time range: 12 to 17"), unknown)
    assert out["score"] == pytest.approx(0.5) and out["duration_known"] == 0.0


# ---------------------------------------------------------------- ID match
def test_id_match() -> None:
    assert score("id_match", wrap("Target ID: 3, Time range: 12 to 17"), STVG) == 1.0
    assert score("id_match", wrap("Target ID: [3], Time range: [12 to 17]"), STVG) == 1.0
    assert score("id_match", wrap("Target ID: 4, Time range: 12 to 17"), STVG) == 0.0
    assert score("id_match", wrap("Target ID: 03"), STVG) == 1.0  # ints, not strings
    assert score("id_match", wrap("Target ID: 3"), STVG, both_required=True) == 0.0
    never_tracked = GroundTruth("stvg", target_id=None, span_seconds=(1.0, 2.0))
    assert score("id_match", wrap("Target ID: 3, Time range: 1 to 2"), never_tracked) == 0.0


def test_reversed_span_voids_id_unless_paper_compat() -> None:
    text = wrap("Target ID: 3, Time range: 17 to 12")
    out = REWARDS["id_match"](text, STVG)
    assert out["score"] == 0.0 and out["reversed"] == 1.0 and out["parsed"] == 1.0
    assert score("id_match", text, STVG, paper_reversed_pays=True) == 1.0


# ---------------------------------------------------------------- spatial
MAN_BOX = (0.0, 0.0, 10.0, 10.0)
CAR_BOXES = ((20.0, 0.0, 30.0, 10.0), (40.0, 0.0, 50.0, 10.0))
ST_GT = GroundTruth(
    "st_reasoning",
    key_frames=(
        KeyFrame(2.0, {"man in red": (MAN_BOX,), "car": CAR_BOXES}),
        KeyFrame(1.2, {"woman": ((100.0, 100.0, 110.0, 110.0),)}),
    ),
)


def claim(name: str, boxes: str, t: str) -> str:
    return f"<obj>{name}</obj>{boxes}at<t>{t}</t>s"


def test_spatial_single_claim_by_hand() -> None:
    # pred [0,0,10,5] vs gt [0,0,10,10]: IoU 50/100
    text = wrap("a", claim("man", "<box>[0,0,10,5]</box>", "2.5"))
    assert score("spatial", text, ST_GT) == pytest.approx(0.5)


def test_spatial_multi_region_and_mean_over_claims() -> None:
    # car has 2 gt boxes: box 1 best IoU 1.0, box 2 best IoU 0 -> 0.5; second claim unmatched name -> 0; mean 0.25
    car = claim("the car", "<box>[20,0,30,10]</box><box>[0,0,1,1]</box>", "2.0")
    text = wrap("a", car + claim("dog", "<box>[0,0,10,10]</box>", "2.0"))
    out = REWARDS["spatial"](text, ST_GT)
    assert out["score"] == pytest.approx(0.25)
    assert out["matched"] == pytest.approx(0.5) and out["n_claims"] == 2.0
    # several boxes in one tag: [[..],[..]] covering both car boxes -> 1.0
    both = wrap("a", claim("car", "<box>[[20,0,30,10],[40,0,50,10]]</box>", "2.0"))
    assert score("spatial", both, ST_GT) == pytest.approx(1.0)


def test_spatial_name_matching_is_word_level() -> None:
    assert names_match("man", "man in red") and names_match("Red Car", "the red car")
    assert not names_match("man", "woman") and not names_match("woman", "man in red")
    assert not names_match("", "man") and not names_match("man", "")
    # "man" at t=1.2 is gated to the key frame at 1.2 (dt 0) and 2.0 (dt 0.8); only "woman" is at 1.2, "man in red"
    # at 2.0 matches: IoU 1.0 there
    text = wrap("a", claim("man", "<box>[0,0,10,10]</box>", "1.2"))
    assert score("spatial", text, ST_GT) == pytest.approx(1.0)
    empty = wrap("a", claim("", "<box>[0,0,10,10]</box>", "2.0"))
    assert score("spatial", empty, ST_GT) == 0.0


def test_spatial_temporal_gate_with_rounding_tolerance() -> None:
    # 1.2 vs 2.2 and 2.0 vs 3.0: both |dt| = 1.0 in decimal; 2.2 - 1.2 > 1.0 in binary floating point
    assert 2.2 - 1.2 > 1.0
    frames = (KeyFrame(1.2, {"man": (MAN_BOX,)}), KeyFrame(3.0, {"dog": (MAN_BOX,)}))
    gt = GroundTruth("st_reasoning", key_frames=frames)
    assert score("spatial", wrap("a", claim("man", "<box>[0,0,10,10]</box>", "2.2")), gt) == 1.0
    assert score("spatial", wrap("a", claim("dog", "<box>[0,0,10,10]</box>", "2.0")), gt) == 1.0
    assert score("spatial", wrap("a", claim("man", "<box>[0,0,10,10]</box>", "2.21")), gt) == 0.0
    # the gate is two-sided (the source's `t* - T < 1` passes any claim far after the key frame)
    assert score("spatial", wrap("a", claim("man", "<box>[0,0,10,10]</box>", "9.0")), gt) == 0.0


def test_spatial_unparsable_claims_count_as_zero() -> None:
    good = claim("man", "<box>[0,0,10,10]</box>", "2.0")
    bad_box = claim("man", "<box>[0,0,ten,10]</box>", "2.0")
    bad_time = claim("man", "<box>[0,0,10,10]</box>", "soon")
    out = REWARDS["spatial"](wrap("a", good + bad_box + bad_time), ST_GT)
    assert out["score"] == pytest.approx(1 / 3) and out["n_claims"] == 3.0
    assert [c.valid for c in parse_claims(good + bad_box + bad_time)] == [True, False, False]
    assert score("spatial", wrap("a", "no claims"), ST_GT) == 0.0
    empty_box = claim("man", "<box>[]</box>", "2.0")
    assert score("spatial", wrap("a", good + empty_box), ST_GT) == pytest.approx(0.5)


def test_ground_truth_skips_empty_and_malformed_boxes() -> None:
    row = {"task": "stvg", "target_id": None, "gt_span_seconds": [], "gt_pts_seconds": [1.0, 2.0, 3.0],
           "gt_boxes": [[], [0, 0, 5, 5], [1, 2, 3]], "object_names": [], "meta": "{not json"}
    gt = ground_truth_from_row(row)
    assert gt.target_id is None and gt.span_seconds is None
    assert gt.key_frames == (KeyFrame(2.0, {"": ((0.0, 0.0, 5.0, 5.0),)}),)
    # an unnamed ground-truth object matches no claim
    assert score("spatial", wrap("a", claim("man", "<box>[0,0,5,5]</box>", "2.0")), gt) == 0.0
    # multi-object key frames from meta
    meta = '{"key_frames": [{"time_seconds": 4.0, "objects": {"dog": [[0, 0, 2, 2]], "cat": [1, 1, 3, 3]}}]}'
    gt = ground_truth_from_row({**row, "meta": meta})
    assert gt.key_frames == (KeyFrame(4.0, {"dog": ((0.0, 0.0, 2.0, 2.0),), "cat": ((1.0, 1.0, 3.0, 3.0),)}),)


def test_spatial_empty_and_normalised_boxes() -> None:
    zero_area = wrap("a", claim("man", "<box>[5,5,5,5]</box>", "2.0"))
    assert score("spatial", zero_area, ST_GT) == 0.0
    sized = GroundTruth("st_reasoning", key_frames=ST_GT.key_frames, frame_size=(100, 50))
    # [0,0,0.1,0.2] normalised on 100x50 -> [0,0,10,10]
    norm = wrap("a", claim("man", "<box>[0,0,0.1,0.2]</box>", "2.0"))
    assert score("spatial", norm, sized, box_units="normalized") == pytest.approx(1.0)


# ---------------------------------------------------------------- temporal point / segment
def test_point_sigma_schedule() -> None:
    assert point_sigma_seconds(0.0) == 4.0
    assert point_sigma_seconds(0.5) == 2.0
    assert point_sigma_seconds(0.74) == pytest.approx(1.04)
    assert point_sigma_seconds(0.75) == 1.0 and point_sigma_seconds(1.0) == 1.0


def test_temporal_point_by_hand() -> None:
    gt = GroundTruth("st_reasoning", key_frames=(KeyFrame(2.0), KeyFrame(6.0)))
    text = wrap("a", "at <t>3.0</t>s and <t>6.0</t>s")
    # progress 0.5: sigma 2; dt 1 and 0 -> (exp(-1/8) + 1) / 2
    assert score("temporal_point", text, gt, progress=0.5) == pytest.approx((math.exp(-1 / 8) + 1) / 2)
    # progress 0.9: sigma 1 -> (exp(-1/2) + 1) / 2
    assert score("temporal_point", text, gt, progress=0.9) == pytest.approx((math.exp(-0.5) + 1) / 2)
    malformed = wrap("a", "at <t>3.0</t>s and <t>later</t>s")
    assert score("temporal_point", malformed, gt, progress=0.9) == pytest.approx(math.exp(-0.5) / 2)
    assert score("temporal_point", wrap("a", "no times"), gt) == 0.0


def test_temporal_segment_by_hand() -> None:
    gt = GroundTruth("temporal_qa", span_seconds=(2.0, 6.0))  # segment skips st free-form rows
    assert score("temporal_segment", wrap("a", "<t>2.0</t>s <t>4</t>s <t>6.0</t>s <t>7</t>s"), gt) == 0.75
    # one malformed <t> counts as outside instead of zeroing everything
    assert score("temporal_segment", wrap("a", "<t>3</t>s <t>oops</t>s"), gt) == 0.5
    assert score("temporal_segment", "<t>3</t>s without think", gt) == 0.0
    assert score("temporal_segment", "<t>3</t>s without think", gt, scope="all") == 1.0


# ---------------------------------------------------------------- MCQ and ROUGE
@pytest.mark.parametrize("text", ["B", "B.", "(B)", "[B]", "b", " (b) ", "Option B", "Correct Option: B",
                                  "B. the man in red"])
def test_mcq_accepts_letter_forms(text: str) -> None:
    assert mcq_letter(text) == "B"


def test_mcq_rejects_words_and_reads_option_text() -> None:
    assert mcq_letter("A man walks") is None
    assert mcq_letter("the man in red", ("a dog", "the man in red")) == "B"
    gt = GroundTruth("mcq", answer="C", options=("x", "y", "z"))
    assert score("mcq", wrap("(c)"), gt) == 1.0
    assert score("mcq", wrap("(c)"), gt, paper_exact=True) == 0.0  # the source is case-sensitive
    assert score("mcq", wrap("[C]"), gt, paper_exact=True) == 1.0
    assert score("mcq", wrap("D"), gt) == 0.0
    assert score("mcq", "C", gt) == 0.0  # no <answer>, no answer
    tmcq = GroundTruth("temporal_mcq", answer="A", span_seconds=(1.0, 2.0))
    assert score("mcq", wrap("From <t>1</t>s to <t>2</t>s. Correct Option: (A)"), tmcq) == 1.0


def test_rouge_by_hand() -> None:
    gt = GroundTruth("video_qa", answer="the man walks to the door")
    out = REWARDS["rouge"](wrap("a man walks to the car"), gt)
    # pred: a man walks to the car (6); ref: the man walks to the door (6)
    # unigrams overlap: man walks to the = 4 -> P = R = 4/6 -> F 2/3
    # bigrams: pred {a man, man walks, walks to, to the, the car}, ref {the man, man walks, walks to, to the,
    #   the door}: overlap 3 of 5 -> F 3/5
    # LCS: man walks to the = 4 -> F 2/3
    assert out["rouge1"] == pytest.approx(2 / 3)
    assert out["rouge2"] == pytest.approx(3 / 5)
    assert out["rougeL"] == pytest.approx(2 / 3)
    assert out["score"] == pytest.approx((2 / 3 + 3 / 5 + 2 / 3) / 3)
    assert score("rouge", wrap(""), gt) == 0.0
    assert score("rouge", wrap("anything"), GroundTruth("video_qa", answer=None)) == 0.0
    assert lcs_length(["a", "b", "c", "d"], ["b", "d", "c"]) == 2


# ---------------------------------------------------------------- batch
def test_compute_rewards_isolates_items_and_sums_weights() -> None:
    other = GroundTruth("stvg", target_id=5, span_seconds=(0.0, 4.0), duration_seconds=40.0)
    completions = [wrap("Target ID: 3, Time range: 12 to 17"), None, "<think>"]
    completions.append(wrap("Target ID: 5, Time range: 0 to 4"))
    gts = [STVG, STVG, STVG, other]
    total, details = compute_rewards(completions, gts, {"format_stvg": 1.0, "tiou": 2.0, "id_match": 0.5})  # type: ignore[arg-type]
    # item 0: 1 + 2 * 0.5 + 0.5 = 2.5; item 1 (not text) fails alone; item 2 malformed; item 3 perfect on its own gt
    np.testing.assert_allclose(total, [2.5, 0.0, 0.0, 3.5])
    np.testing.assert_allclose(details["tiou/failed"], [0, 1, 0, 0])
    np.testing.assert_allclose(details["tiou/parsed"], [1, 0, 0, 1])
    assert set(details) >= {"format_stvg", "tiou", "id_match", "id_match/reversed"}
    assert all(v.shape == (4,) for v in details.values())
    with pytest.raises(KeyError, match="unknown reward"):
        compute_rewards(["x"], [STVG], {"nope": 1.0})
    total, _ = compute_rewards([completions[0]], [STVG], {"id_match": 1.0},
                               reward_params={"id_match": {"grammar": "paper"}})
    assert total.tolist() == [1.0]


def test_ground_truth_from_real_shard_row(demo_dataset: Path) -> None:
    shard = sorted((demo_dataset / "data").glob("*.parquet"))[0]
    table = pq.read_table(shard)
    row = table.slice(0, 1).to_pylist()[0]
    gt = ground_truth_from_row(row)
    assert gt.task == row["task"]
    assert gt.span_seconds == tuple(row["gt_span_seconds"])
    assert gt.target_id == row["target_id"]
    assert [k.time_seconds for k in gt.key_frames] == row["gt_pts_seconds"]
    assert gt.frame_size == (row["frame_width"], row["frame_height"])
    # the stored answer is a perfect STVG-R1 answer to its own row
    total, _ = compute_rewards([wrap(row["answer"])], [gt], {"format_stvg": 1, "tiou": 1, "id_match": 1})
    assert total.tolist() == [pytest.approx(3.0)]
    # the same row through pandas (numpy arrays, NaN for nulls) gives the same ground truth
    pandas_row = table.slice(0, 1).to_pandas().iloc[0].to_dict()
    assert ground_truth_from_row(pandas_row) == gt


@pytest.fixture(scope="module")
def stgr_rows(upstream_renders: dict) -> list[dict]:
    """The `raw` rows of the STGR recipe rendered on its upstream-format fixture over a 12 s clip of vtest.avi
    (the session's render, shared with test_pipelines.py)."""
    out = upstream_renders["stgr"][0]
    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rows = [r for r in rows if r["variant"] == "raw"]
    assert rows
    return rows


def _claims_of(gt: GroundTruth, shift_seconds: float) -> str:
    """The ground truth's own key boxes as VisionCoach claims, each stated `shift_seconds` late."""
    return "".join(
        f"<obj>{name}</obj>" + "".join(f"<box>{list(b)}</box>" for b in boxes)
        + f"at<t>{kf.time_seconds + shift_seconds:.2f}</t>s "
        for kf in gt.key_frames for name, boxes in kf.objects.items()
    )


@pytest.mark.slow  # the STGR recipe rendered with the real detector (shared with test_pipelines)
def test_visioncoach_rewards_on_real_stgr_rows(stgr_rows: list[dict]) -> None:
    """A completion that restates each row's own ground truth earns full marks on every reward meant for its task."""
    tasks = set()
    for row in stgr_rows:
        gt = ground_truth_from_row(row)
        tasks.add(gt.task)
        claims = _claims_of(gt, 0.0)
        span = "" if gt.span_seconds is None else f"from <t>{gt.span_seconds[0]}</t>s to <t>{gt.span_seconds[1]}</t>s"
        text = f"<think>{claims}{span}</think><answer>{row['answer']}</answer>"
        out = {name: REWARDS[name](text, gt)["score"] for name in REWARDS if name not in ("format_stvg", "id_match")}
        if gt.task in ("temporal_qa", "temporal_mcq"):
            assert out["tiou"] == pytest.approx(1.0) and out["temporal_segment"] == 1.0, row["sample_id"]
            assert out["format_visioncoach"] == 1.0
        if gt.task in ("temporal_mcq", "general_mcq"):
            assert out["mcq"] == 1.0 and out["accuracy"] == 1.0, row["sample_id"]
            wrong = "A" if mcq_letter(row["answer"]) != "A" else "B"
            assert REWARDS["mcq"](f"<think>x</think><answer>{wrong}</answer>", gt)["score"] == 0.0
        if gt.task in ("st_free_form", "general_free_form"):
            assert out["rouge"] == pytest.approx(1.0) and out["accuracy"] == pytest.approx(1.0), row["sample_id"]
        if gt.key_frames:
            assert out["spatial"] == pytest.approx(1.0) and out["temporal_point"] == pytest.approx(1.0)
            assert out["format_visioncoach"] == 1.0
            # the right boxes a second and a half late fall outside the temporal gate
            late = f"<think>{_claims_of(gt, 1.5)}</think><answer>{row['answer']}</answer>"
            assert REWARDS["spatial"](late, gt)["score"] == 0.0
            assert REWARDS["spatial"](f"<think>{_claims_of(gt, 0.9)}</think><answer>a</answer>", gt)["score"] > 0.99
    assert {"temporal_qa", "temporal_mcq", "st_free_form", "general_mcq"} <= tasks
    multi = next(ground_truth_from_row(r) for r in stgr_rows if r["sample_id"] == "stgr-st-1")
    assert {name for kf in multi.key_frames for name in kf.objects} == {"man", "building door"}


# ---------------------------------------------------------------- the answer-box reward through the adapters
def test_answer_box_reward_through_verl_easyr1_and_trl() -> None:
    from vctrain.adapters import easyr1_compute_score, make_trl_reward, verl_compute_score

    row = {"task": "image_qa", "answer": "<obj>dog</obj><box>[100, 50, 200, 150]</box>", "source_width": 400,
           "source_height": 300, "frame_width": 200, "frame_height": 150}  # fmt: skip
    half = "<think>x</think><answer><obj>dog</obj><box>[75, 25, 125, 75]</box></answer>"  # IoU 1/3 in frame px
    weights = {"answer_box": 1.0}
    assert verl_compute_score("stgr", half, row, weights=weights)["score"] == pytest.approx(1 / 3)
    assert easyr1_compute_score({"response": half, "ground_truth": row}, weights=weights)["overall"] == pytest.approx(
        1 / 3
    )
    trl = make_trl_reward(weights)
    assert trl(prompts=["q"], completions=[half], **{k: [v] for k, v in row.items()}) == pytest.approx([1 / 3])
    assert "answer_box" in REWARDS and REWARDS["answer_box"](half, STVG)["score"] == 0.0  # other tasks pay 0


def test_a_misspelt_convention_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="convention"):
        compute_rewards([wrap("x")], [STVG], {"tiou": 1.0}, convention="stvg-r1")
    with pytest.raises(ValueError, match="convention"):
        compute_rewards([wrap("x")], [STVG], {"tiou": 1.0}, reward_params={"tiou": {"convention": "paper"}})


def test_a_missing_library_raises_instead_of_scoring_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed completion scores 0, but a reward that cannot import what it needs is a broken setup:
    scoring 0 would silently shift every total (as when ROUGE's stemmer is missing in a framework's env)."""
    import vctrain.rewards as rewards
    from vctrain.rewards import score_one

    gt = GroundTruth("general_free_form", answer="the cat")
    assert score_one("rouge", None, gt) == ({"score": 0.0}, True)  # type: ignore[arg-type]  # bad completion

    def needs_a_missing_library(completion: str, gt: GroundTruth, **kwargs: object) -> dict[str, float]:
        raise ImportError("No module named 'nltk'")

    monkeypatch.setitem(rewards.REWARDS, "rouge", needs_a_missing_library)
    with pytest.raises(ImportError, match="nltk"):
        score_one("rouge", "<answer>the cat</answer>", gt)
