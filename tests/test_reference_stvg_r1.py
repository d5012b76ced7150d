"""STVG-R1's rewards (XiaowZhang00/stvg-r1, src/open_r1/grpo_video.py), vectors written by hand from its code.

`iou_timestamp_reward` returns tIoU + ID match as one number; here they are the `tiou` and `id_match` rewards, and
each vector gives both parts. Line numbers are those of grpo_video.py: 86-90 the last `<answer>` (stripped), 93-98
the ID (`Target ID:`, optional whitespace, digits; case-insensitive; first match), 100-109 the span (`Time range:`,
optional whitespace, digits with an optional dot and decimals, `to`/`and` with optional whitespace; first match),
110-113 both parts voided when either is missing, 144-149 the tIoU (0 for an empty overlap or union), 157 the ID
reward (paid whatever the span), 179-183 the format reward.
"""

from __future__ import annotations

import pytest

from tests.reference_vectors import SAME, TOLERANCE, think_answer
from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards import REWARDS

GT = GroundTruth("stvg", target_id=3, span_seconds=(10.0, 20.0), duration_seconds=40.0)
NO_ID = GroundTruth("stvg", target_id=None, span_seconds=(10.0, 20.0))
POINT = GroundTruth("stvg", target_id=3, span_seconds=(15.0, 15.0))

# completion, ground truth, (tIoU, ID) of the reference, (tIoU, ID) of the default (SAME: equal)
SPAN_AND_ID = [
    (think_answer("Target ID: 3, Time range: 12.54 to 17.83"), GT, ((17.83 - 12.54) / 10, 1.0), SAME),  # 93, 100
    (think_answer("Target ID: 3, Time range: 12. to 17."), GT, (0.5, 1.0), SAME),  # 101: `\d+\.?\d*` takes "12."
    (think_answer("target id: 3, time range: 10 TO 20"), GT, (1.0, 1.0), SAME),  # 96, 103: re.IGNORECASE
    (think_answer("Target ID:3, Time range:10and20"), GT, (1.0, 1.0), SAME),  # 94, 101: `\s*` everywhere
    (think_answer("Target ID: 3, Time range: 12 and 18"), GT, (0.6, 1.0), SAME),  # 101: "and" separates
    (think_answer("Target ID: 3, Time range: 12  to\n18"), GT, (0.6, 1.0), SAME),  # 101: any whitespace
    (think_answer("Target ID: [3], Time range: [12 to 17]"), GT, (0.0, 0.0), (0.5, 1.0)),  # 94: "[" is no digit; 110
    (think_answer("Target ID: 3, Time range: [12 to 17]"), GT, (0.0, 0.0), (0.5, 1.0)),  # 101 fails, 110 voids ID
    (think_answer("Target ID: 3, Time range: 12s to 17s"), GT, (0.0, 0.0), (0.5, 1.0)),  # 101: "s" before "to"
    (think_answer("Target ID: 3"), GT, (0.0, 0.0), (0.0, 1.0)),  # 110-113: no span voids the ID
    (think_answer("Time range: 12 to 17"), GT, (0.0, 0.0), (0.5, 0.0)),  # 110-113: no ID voids the span
    (think_answer("Target ID: 3, Time range: 20 to 10"), GT, (0.0, 1.0), (0.0, 0.0)),  # 146: overlap < 0; 157 pays
    (think_answer("Target ID: 3, Time range: 15 to 15"), GT, (0.0, 1.0), SAME),  # 146: zero-length, overlap 0
    (think_answer("Target ID: 3, Time range: 15 to 15"), POINT, (0.0, 1.0), SAME),  # 148: union 0 -> 0.0
    (think_answer("Target ID: 4, Time range: 10 to 20"), GT, (1.0, 0.0), SAME),  # 157: 4 != 3
    (think_answer("Target ID: 03, Time range: 10 to 20"), GT, (1.0, 1.0), SAME),  # 98: int("03") == 3
    (think_answer("Target ID: 3, Target ID: 5, Time range: 10 to 20"), GT, (1.0, 1.0), SAME),  # 93: first match
    (think_answer("Target ID: 3, Time range: 10 to 20 or 12 to 14"), GT, (1.0, 1.0), SAME),  # 100: first match
    (think_answer("Target ID: 3, Time range: 10 to 20 seconds, I think"), GT, (1.0, 1.0), SAME),  # 100: search
    ("<answer>Target ID: 1, Time range: 0 to 1</answer><answer>Target ID: 3, Time range: 10 to 20</answer>", GT,
     (1.0, 1.0), SAME),  # 90: the last <answer>
    ("Target ID: 3, Time range: 10 to 20", GT, (0.0, 0.0), SAME),  # 87-89: no <answer> tag
    ("<answer>\n  Target ID: 3,\nTime range: 10 to 20\n</answer>", GT, (1.0, 1.0), SAME),  # 86: DOTALL; 90: strip
    (think_answer("Target ID: 3, Time range: 5 to 25"), GT, (0.5, 1.0), SAME),  # 146-148: 10 / 20
    (think_answer("Target ID: 3, Time range: 0 to 10"), GT, (0.0, 1.0), SAME),  # 146: touching spans overlap 0
    (think_answer("Target ID: 3, Time range: 12.5.3 to 17"), GT, (0.0, 0.0), (0.0, 1.0)),  # 101: no number fits
    (think_answer("Target ID: 3, Time range: 10 to 20"), NO_ID, (1.0, 0.0), SAME),  # 157: None != 3
    (think_answer("TARGET ID: 3, TIME RANGE: 10 AND 20"), GT, (1.0, 1.0), SAME),  # 96, 103: case-insensitive
    (think_answer("Target ID : 3, Time range: 10 to 20"), GT, (0.0, 0.0), (1.0, 1.0)),  # 94: no space before ":"
    (think_answer("Target ID: 3, Time range: 10to20"), GT, (1.0, 1.0), SAME),  # 101: `\s*` admits none
    (think_answer("Target ID: -3, Time range: 10 to 20"), GT, (0.0, 0.0), (1.0, 0.0)),  # 94: "-" is no digit
    (think_answer("Target ID: 3, Time range: 12.25 to 22.75"), GT, (7.75 / 12.75, 1.0), SAME),  # 146-148
]


def _case_ids() -> list[str]:
    return [f"v{i:02d}" for i in range(len(SPAN_AND_ID))]


@pytest.mark.parametrize(("completion", "gt", "reference", "default"), SPAN_AND_ID, ids=_case_ids())
def test_tiou_and_id_match_under_stvg_r1(completion: str, gt: GroundTruth, reference: tuple, default: object) -> None:
    got = (REWARDS["tiou"](completion, gt, convention="stvg_r1")["score"],
           REWARDS["id_match"](completion, gt, convention="stvg_r1")["score"])  # fmt: skip
    assert got == pytest.approx(reference, abs=TOLERANCE)


@pytest.mark.parametrize(("completion", "gt", "reference", "default"), SPAN_AND_ID, ids=_case_ids())
def test_tiou_and_id_match_default(completion: str, gt: GroundTruth, reference: tuple, default: object) -> None:
    expected = reference if default is SAME else default
    got = (REWARDS["tiou"](completion, gt)["score"], REWARDS["id_match"](completion, gt)["score"])
    assert got == pytest.approx(expected, abs=TOLERANCE)


def test_paper_grammar_alias_and_single_switches_equal_the_convention() -> None:
    """`grammar="paper"` + `both_required` + `paper_reversed_pays` is the convention spelled switch by switch."""
    for completion, gt, reference, _ in SPAN_AND_ID:
        tiou = REWARDS["tiou"](completion, gt, grammar="paper", answer_tag="last", both_required=True)["score"]
        ident = REWARDS["id_match"](completion, gt, grammar="paper", answer_tag="last", both_required=True,
                                    paper_reversed_pays=True)["score"]  # fmt: skip
        assert (tiou, ident) == pytest.approx(reference, abs=TOLERANCE), completion


# Format (grpo_video.py 179-183; Time-R1 main.py 234-239 is the same test): fullmatch of
# `<think>.*?</think>\s*<answer>.*?</answer>` (DOTALL) on the stripped text.
FORMAT = [
    ("<think>a</think><answer>b</answer>", 1.0),  # 181
    ("  <think>a</think>\n<answer>b</answer>\n", 1.0),  # 182: content.strip()
    ("<think>a</think> text <answer>b</answer>", 0.0),  # 181: only whitespace between
    ("<answer>b</answer>", 0.0),  # 181: think required
    ("<think>a</think><answer>b</answer> trailing", 0.0),  # 182: fullmatch
    ("<think>a\nb</think><answer>c\nd</answer>", 1.0),  # 181: DOTALL
    ("<think></think><answer></answer>", 1.0),  # 181: `.*?` may be empty
    ("<think>a</think><answer>b</answer><answer>c</answer>", 1.0),  # 182: fullmatch stretches `.*?`
    ("<think>a</think><think>b</think><answer>c</answer>", 1.0),  # 182: likewise for think
    ("<THINK>a</THINK><answer>b</answer>", 0.0),  # 181: case-sensitive
    ("<think>a</think>\n\n\t<answer>b</answer>", 1.0),  # 181: `\s*`
    ("<think>a<answer>b</answer>", 0.0),  # 181: no </think>
    ("x<think>a</think><answer>b</answer>", 0.0),  # 182: fullmatch from the first character
    ("<think>a</think><answer>b", 0.0),  # 181: no </answer>
    ("", 0.0),  # 182
    ("<think>a</think><answer>b</answer>\u00a0", 1.0),  # 182: str.strip removes Unicode spaces
    ("<think> a </think>   <answer> b </answer>", 1.0),  # 181
    ("<answer>b</answer><think>a</think>", 0.0),  # 181: order
    ("<think>a</think>.<answer>b</answer>", 0.0),  # 181: "." is not whitespace
    ("\n<think>a</think><answer>b</answer>\n\n", 1.0),  # 182
    ("<think>a</think><answer>b</answer></answer>", 1.0),  # 182: `.*?` stretches over "b</answer>"
]


@pytest.mark.parametrize(("completion", "reference"), FORMAT)
@pytest.mark.parametrize("convention", ["default", "stvg_r1", "time_r1"])
def test_format_stvg(completion: str, reference: float, convention: str) -> None:
    assert REWARDS["format_stvg"](completion, GT, convention=convention)["score"] == reference
