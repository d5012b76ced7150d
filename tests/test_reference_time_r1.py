"""Time-R1's span rewards (xiaomi-research/time-r1, main.py), vectors written by hand from its code.

Line numbers of main.py: 125-131 the last `<answer>` (not stripped), 134-136 every `d to|and d` with exactly one
space on each side (digits, an optional dot, decimals; case-insensitive), 137-141 the *last* such match,
161-168 `iou_timestamp_reward` (overlap clipped at 0, divided by the union when it is positive), 203-219
`iou_timestamp_reward_v2`: iou * (1 - |s*/D - s/D|) * (1 - |e*/D - e/D|), unclamped. A zero union leaves `iou`
unbound (an exception, or the previous item's value): not reproducible, so no vector has one.
"""

from __future__ import annotations

import pytest

from tests.reference_vectors import SAME, TOLERANCE
from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards import REWARDS, compute_rewards

GT = GroundTruth("temporal_qa", span_seconds=(10.0, 20.0), duration_seconds=40.0)
STVG = GroundTruth("stvg", target_id=1, span_seconds=(10.0, 20.0), duration_seconds=40.0)
SHORT = GroundTruth("temporal_qa", span_seconds=(10.0, 20.0), duration_seconds=20.0)


def a(text: str) -> str:
    return f"<think>t</think><answer>{text}</answer>"


def v2(iou: float, s: float, e: float, gs: float = 10.0, ge: float = 20.0, d: float = 40.0) -> float:
    """The v2 value written out (main.py 211-219)."""
    return iou * (1 - abs(gs / d - s / d)) * (1 - abs(ge / d - e / d))


# completion, gt, (v1, v2) of the reference, (v1, v2) of the default
VECTORS = [
    (a("10 to 20"), GT, (1.0, 1.0), SAME),  # 135, 166
    (a("The event happens 12 to 18."), GT, (0.6, v2(0.6, 12, 18)), SAME),  # 135: search inside a sentence
    (a("12. to 18."), GT, (0.6, v2(0.6, 12, 18)), SAME),  # 135: `\d+\.?\d*` takes "12."
    (a("12  to 18"), GT, (0.0, 0.0), (0.6, v2(0.6, 12, 18))),  # 135: exactly one space
    (a("from 0 to 5 then 12 to 18"), GT, (0.6, v2(0.6, 12, 18)), (0.0, 0.0)),  # 139: the last match
    (a("12 AND 18"), GT, (0.6, v2(0.6, 12, 18)), SAME),  # 135: re.IGNORECASE
    (a("20 to 10"), GT, (0.0, 0.0), SAME),  # 163: reversed, overlap clipped to 0
    (a("5 to 25"), GT, (0.5, v2(0.5, 5, 25)), SAME),  # 163-166
    (a("0 to 100"), GT, (0.1, v2(0.1, 0, 100)), (0.1, 0.0)),  # 211-219: factor 1 - 2 < 0, reward -0.075
    (a("10 to 20") + "<answer>0 to 5</answer>", GT, (0.0, 0.0), (1.0, 1.0)),  # 131: last <answer>
    (a("no span"), GT, (0.0, 0.0), SAME),  # 136: no match, reward stays 0.0
    ("10 to 20", GT, (0.0, 0.0), SAME),  # 127: no <answer>
    (a("10 to 20 and 30"), GT, (1.0, 1.0), SAME),  # 134: findall does not overlap: one match
    (a("10 to 15 to 20"), GT, (0.5, v2(0.5, 10, 15)), SAME),  # 134: "15 to 20" overlaps the first match
    (a("10.5 to 19.5"), GT, (0.9, v2(0.9, 10.5, 19.5)), SAME),  # 135
    (a("-5 to 15"), GT, (5 / 15, v2(5 / 15, 5, 15)), SAME),  # 135: "-" is not read, 5 to 15
    (a("10 to 20"), GroundTruth("temporal_qa", span_seconds=(10.0, 10.0), duration_seconds=40.0),
     (0.0, 0.0), SAME),  # 163-166: overlap 0 over union 10
    (a("1e1 to 20"), GT, (10 / 19, v2(10 / 19, 1, 20)), SAME),  # 135: "1 to 20" after the "e"
    (a("12.5to18"), GT, (0.0, 0.0), (0.55, v2(0.55, 12.5, 18))),  # 135: spaces required
    (a("Between 0.0 and 40.0"), GT, (0.25, v2(0.25, 0, 40)), SAME),  # 135: "and"
    (a("10 to 20"), SHORT, (1.0, 1.0), SAME),  # 211-219: no error, factors 1
    (a("15 to 25"), GT, (5 / 15, v2(5 / 15, 15, 25)), SAME),  # 163-166, 211-219
    (a("10 to 20"), STVG, (1.0, 1.0), SAME),  # rows of any task: the grammar does not depend on the task
    (a("Target ID: 1, Time range: 12 to 18"), STVG, (0.6, v2(0.6, 12, 18)), SAME),  # 135 reads "12 to 18"
    (a("0 to 19"), GroundTruth("temporal_qa", span_seconds=(10.0, 20.0), duration_seconds=10.0),
     (9 / 20, v2(9 / 20, 0, 19, d=10.0)), (9 / 20, 0.0)),  # 211-219: 1 - |1 - 0| = 0 and 1 - 0.1 = 0.9
]


@pytest.mark.parametrize(("completion", "gt", "reference", "default"), VECTORS)
def test_spans_under_time_r1(completion: str, gt: GroundTruth, reference: tuple, default: object) -> None:
    got = (REWARDS["tiou"](completion, gt, convention="time_r1")["score"],
           REWARDS["tiou_timer1"](completion, gt, convention="time_r1")["score"])  # fmt: skip
    assert got == pytest.approx(reference, abs=TOLERANCE)


@pytest.mark.parametrize(("completion", "gt", "reference", "default"), VECTORS)
def test_spans_default(completion: str, gt: GroundTruth, reference: tuple, default: object) -> None:
    expected = reference if default is SAME else default
    got = (REWARDS["tiou"](completion, gt)["score"], REWARDS["tiou_timer1"](completion, gt)["score"])
    assert got == pytest.approx(expected, abs=TOLERANCE)


def test_negative_v2_survives_compute_rewards_only_under_the_convention() -> None:
    text = [a("0 to 100")]
    source, _ = compute_rewards(text, [GT], {"tiou_timer1": 1.0}, convention="time_r1")
    sound, _ = compute_rewards(text, [GT], {"tiou_timer1": 1.0})
    assert source[0] == pytest.approx(-0.075, abs=TOLERANCE) and sound[0] == 0.0
