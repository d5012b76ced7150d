"""VisionCoach's rewards (daeunni/VisionCoach, src/r1-v/src/open_r1/reward_func.py), vectors written by hand.

Line numbers are those of reward_func.py. The source reads the task of a batch's first item; here each row's task
(`temporal QA` = temporal_qa, `temporal QA (MCQ)` = temporal_mcq, `General video QA MCQ` = general_mcq,
`General video QA Free-form` = general_free_form, `temporal-spatial free-form QA` = st_free_form, `visual QA` =
image_qa). Ground-truth boxes are given here in frame pixels: the source's normalised key-item boxes times
`image_size` (convert_coord_format, 333-341), and the visual-QA box in original pixels with the sizes that rescale it.
"""

from __future__ import annotations

import math

import pytest

from tests.reference_vectors import TOLERANCE, Vector, think_answer
from vctrain.data.groundtruth import GroundTruth, KeyFrame
from vctrain.rewards import REWARDS

TQA = GroundTruth("temporal_qa", span_seconds=(2.0, 6.0))
TMCQ = GroundTruth("temporal_mcq", answer="B", span_seconds=(2.0, 6.0))
MCQ = GroundTruth("general_mcq", answer="C")
FREE = GroundTruth("general_free_form", answer="a red dog")
VQA = GroundTruth("image_qa", answer="<obj>pedestrian</obj><box>[100, 50, 200, 150]</box>", source_size=(400, 300),
                  frame_size=(200, 150))  # fmt: skip  # the box in the processed image: [50, 25, 100, 75]
ST = GroundTruth("st_free_form", answer="a man walks a dog", key_frames=(
    KeyFrame(2.0, {"man": ((10.0, 10.0, 30.0, 30.0),), "dog": ((40.0, 40.0, 60.0, 60.0), (70.0, 70.0, 90.0, 90.0))}),
    KeyFrame(5.0, {"man": ((20.0, 20.0, 40.0, 40.0),)}),
))  # fmt: skip
EDGES = GroundTruth("st_free_form", key_frames=(KeyFrame(2.2, {"man": ((10.0, 10.0, 30.0, 30.0),)}),
                                                KeyFrame(3.0, {"cup": ((0.0, 0.0, 10.0, 10.0),)})))  # fmt: skip
CUP = GroundTruth("st_free_form", key_frames=(KeyFrame(3.0, {"cup": ((0.0, 0.0, 10.0, 10.0),)}),))
SPLIT = GroundTruth("st_free_form", key_frames=(KeyFrame(2.0, {"dog": ((40.0, 40.0, 60.0, 60.0),)}),
                                                KeyFrame(3.5, {"man": ((20.0, 20.0, 40.0, 40.0),)})))  # fmt: skip


def claim(name: str, boxes: str, t: str) -> str:
    return f"<obj>{name}</obj>{boxes}at<t>{t}</t>s"


def check(name: str, vector: Vector, convention: str) -> None:
    params = dict(vector.params)
    got = REWARDS[name](vector.completion, vector.gt, progress=vector.progress, convention=convention, **params)
    expected = vector.reference if convention == "visioncoach" else vector.default_value
    assert got["score"] == pytest.approx(expected, abs=TOLERANCE)


V = Vector
# ---------------------------------------------------------------- ans_tiou_reward (86-181) -> tiou
TIOU = [
    V(think_answer("From <t>2.0</t>s to <t>6.0</t>s"), TQA, 1.0),  # 119-142
    V(think_answer("From <t>3</t>s to <t>5</t>s"), TQA, 0.5),  # 119: digits without decimals
    V(think_answer("From <t>3.</t>s to <t>5.</t>s"), TQA, 0.5),  # 119: `\d+\.?\d*` takes "3."
    V(think_answer("From <t>6</t>s to <t>2</t>s"), TQA, 0.0),  # 128: reversed, no times
    V(think_answer("<t>3</t> s to <t>5</t>s"), TQA, 0.0, 0.5),  # 119: "</t>s to" written exactly
    V(think_answer("<t>3</t>s - <t>5</t>s"), TQA, 0.0, 0.5),  # 119: only " to "
    V(think_answer("3 to 5"), TQA, 0.0, 0.5),  # 119: <t> tags required
    V("<answer><t>2</t>s to <t>6</t>s</answer><answer><t>3</t>s to <t>4</t>s</answer>", TQA, 1.0),  # 93: first
    V(think_answer("  <t>3</t>s to <t>5</t>s  "), TQA, 0.5),  # 91-94: stripped
    V("<t>3</t>s to <t>5</t>s", TQA, 0.0),  # 95: no <answer>: ""
    V(think_answer("Correct Option: B\nFrom <t>3</t>s to <t>5</t>s"), TMCQ, 0.5),  # 146-171: span on line 2
    V(think_answer("<t>3</t>s to <t>5</t>s"), GroundTruth("general_free_form"), 0.0),  # 172: other tasks 0
    V(think_answer("<t>3</t>s to <t>5</t>s"), GroundTruth("general_free_form", span_seconds=(2.0, 6.0)),
      0.0, 0.5),  # 172: the task decides; the default scores any row with a span
    V(think_answer("<t>2</t>s to <t>6.5</t>s"), TQA, 4 / 4.5),  # 137-142
    V(think_answer("<t>0</t>s to <t>2</t>s"), TQA, 0.0),  # 139: touching, overlap 0
    V(think_answer("<t>0</t>s to <t>10</t>s"), TQA, 0.4),  # 137-142
    V(think_answer("<t>4</t>s to <t>4</t>s"), TQA, 0.0),  # 139: zero-length prediction
    V(think_answer("<t>3</t>s to <t>3</t>s"), GroundTruth("temporal_qa", span_seconds=(3.0, 3.0)), 0.0),  # 142
    V(think_answer("<T>3</T>s to <t>5</t>s"), TQA, 0.0, 0.5),  # 119: case-sensitive
    V(think_answer("<t>3</t>s to <t>5</t>s, or <t>1</t>s to <t>2</t>s"), TQA, 0.5),  # 120: first match
    V(think_answer("<t>-3</t>s to <t>5</t>s"), TQA, 0.0),  # 119: no sign
    V(think_answer("<t>3.5.1</t>s to <t>5</t>s"), TQA, 0.0),  # 119: not a number
]

# ---------------------------------------------------------------- ans_acc_reward (17-84) -> accuracy
ACCURACY = [
    V(think_answer("C"), MCQ, 1.0),  # 70-74
    V(think_answer("C."), MCQ, 1.0),  # 73
    V(think_answer("(C)"), MCQ, 1.0),  # 73
    V(think_answer("[C]"), MCQ, 1.0),  # 73
    V(think_answer(" C "), MCQ, 1.0),  # 22-25: stripped
    V(think_answer("c"), MCQ, 0.0, 1.0),  # 74: case-sensitive
    V(think_answer("Option C"), MCQ, 0.0, 1.0),  # 74: only the four forms
    V(think_answer("C. the red car"), MCQ, 0.0, 1.0),  # 74
    V(think_answer("B"), MCQ, 0.0),  # 74
    V(think_answer(""), MCQ, 0.0),  # 74
    V("C", MCQ, 0.0),  # 26: no <answer>: ""
    V("<answer>B</answer><answer>C</answer>", MCQ, 0.0),  # 23: first <answer>
    V(think_answer("{C}"), MCQ, 0.0),  # 74
    V(think_answer("Correct Option: B\nFrom <t>2</t>s to <t>6</t>s"), TMCQ, 0.0, 1.0),  # 57: the span follows
    V(think_answer("From <t>2</t>s to <t>6</t>s. Correct Option: B"), TMCQ, 1.0),  # 57-60
    V(think_answer("Correct Option: (B)"), TMCQ, 1.0),  # 59
    V(think_answer("B"), TMCQ, 0.0, 1.0),  # 57: no "Correct Option:" raises, 63-66: 0
    V(think_answer("Correct Option:B."), TMCQ, 1.0),  # 59
    V(think_answer("correct option: B"), TMCQ, 0.0, 1.0),  # 57: case-sensitive label
    V(think_answer("Correct Option: B Correct Option: C"), TMCQ, 1.0, 0.0),  # 57: text between the labels
    V(think_answer("[2, 6]"), TQA, 0.0),  # 43-44, 76: temporal QA has no accuracy
    V(think_answer("<box>[1, 2, 3, 4]</box>"), VQA, 0.0),  # 43-44
    V(think_answer("a red dog"), FREE, 1.0),  # 67-69: ROUGE F of identical text
    V(think_answer(""), FREE, 0.0),  # 67-69
    V(think_answer("a red cat"), FREE, (2 / 3 + 1 / 2 + 2 / 3) / 3),  # 30-31: R1, R2, RL F
    V(think_answer("dog red a"), FREE, (1 + 0 + 1 / 3) / 3),  # 30-31
]

# ---------------------------------------------------------------- free-form ans_acc_reward (28-32, 67-69): ROUGE
# rouge_score's F of ROUGE-1, ROUGE-2 and ROUGE-L on lower-cased alphanumeric tokens; its Porter stemmer
# (`use_stemmer=True`; rouge_score's tokenize stems only words of more than 3 characters) leaves the short words
# of the first vectors alone; the last two are decided by the stemming.
CAT = GroundTruth("general_free_form", answer="the cat sat on the mat")
ROUGE = [
    V(think_answer("the cat sat on the mat"), CAT, 1.0),
    V(think_answer("the cat"), CAT, (0.5 + 1 / 3 + 0.5) / 3),  # R1 P 1 R 1/3; R2 P 1 R 1/5; LCS 2
    V(think_answer("mat the on sat cat the"), CAT, (1 + 0 + 0.5) / 3),  # no common bigram; LCS "the on the"
    V(think_answer(""), CAT, 0.0),
    V(think_answer("dog"), CAT, 0.0),
    V(think_answer("The CAT, sat!"), CAT, (2 / 3 + 4 / 7 + 2 / 3) / 3),  # tokens the cat sat
    V(think_answer("the the the"), CAT, (4 / 9 + 0 + 4 / 9) / 3),  # clipped counts: 2 of 3
    V(think_answer("cat"), CAT, (2 / 7 + 0 + 2 / 7) / 3),  # no bigram at all
    V(think_answer("the cat sat on the mat and the dog"), CAT, (0.8 + 10 / 13 + 0.8) / 3),
    V(think_answer("cat-sat"), CAT, (0.5 + 1 / 3 + 0.5) / 3),  # "-" separates tokens
    V(think_answer("on the mat"), CAT, (2 / 3 + 4 / 7 + 2 / 3) / 3),
    V(think_answer("sat the cat"), CAT, (2 / 3 + 2 / 7 + 4 / 9) / 3),
    V("the cat sat on the mat", CAT, 0.0),  # 26: no <answer>: ""
    V("<answer>dog</answer><answer>the cat sat on the mat</answer>", CAT, 0.0),  # 23: first <answer>
    V(think_answer("cat"), GroundTruth("general_free_form", answer=""), 0.0),  # empty reference
    V(think_answer("the cat sat on the mat"), GroundTruth("st_free_form", answer="the cat sat on the mat"), 1.0),  # 35
    V(think_answer("THE CAT SAT ON THE MAT"), CAT, 1.0),  # lower-cased
    V(think_answer("  the   cat  "), CAT, (0.5 + 1 / 3 + 0.5) / 3),
    V(think_answer("mat"), CAT, (2 / 7 + 0 + 2 / 7) / 3),
    V(think_answer("a cat sat on a mat"), CAT, (4 / 6 + 2 / 5 + 4 / 6) / 3),  # R2: (cat,sat), (sat,on)
    # stemmed: walks/walking -> walk, towards -> toward, building(s) -> build; every token then agrees
    V(think_answer("the man walking toward the buildings"),
      GroundTruth("general_free_form", answer="the man walks towards the building"), 1.0),
    # stemmed: runs -> run, running -> run(n) -> run; "woman" stays. R1 = RL: P 2/3, R 2/4 -> 4/7; no bigram
    V(think_answer("a woman runs"), GroundTruth("general_free_form", answer="the woman is running"),
      (4 / 7 + 0 + 4 / 7) / 3),
]

# ---------------------------------------------------------------- ans_viou_reward (184-236) -> answer_box
BOX = [
    V(think_answer("<obj>p</obj><box>[50, 25, 100, 75]</box>"), VQA, 1.0),  # 212-226, 344-349
    V(think_answer("<box>[50,25,100,75]</box>"), VQA, 1.0),  # 220
    V(think_answer("[50,25,100,75]"), VQA, 0.0),  # 220: a <box> tag is required
    V(think_answer("<box>[75, 25, 125, 75]</box>"), VQA, 1250 / 3750),  # 372-397
    V(think_answer("<box>[0,0,10,10]</box><box>[50,25,100,75]</box>"), VQA, 0.0),  # 220: first box
    V(think_answer("<box>[50,25,100]</box>"), VQA, 0.0),  # 375
    V(think_answer("<box>[50,25,100,75,1]</box>"), VQA, 0.0),  # 375
    V(think_answer("<box>[a,b,c,d]</box>"), VQA, 0.0),  # 223 raises, 230-232
    V(think_answer('<box>["50",25,100,75]</box>'), VQA, 1.0),  # 378: numpy converts "50"
    V(think_answer("<box>[[50,25,100,75]]</box>"), VQA, 0.0),  # 375: one element
    V(think_answer("<box>[50,25,100,75]</box>"), MCQ, 0.0),  # 194-196, 227-228
    V("<box>[50,25,100,75]</box>", VQA, 0.0),  # 190-192: no <answer>
    V(think_answer("none", "<box>[50,25,100,75]</box>"), VQA, 0.0),  # 206: the answer only
    V(think_answer("<box>[100,50,200,150]</box>"), VQA, 0.0),  # 225: ground truth rescaled first
    V(think_answer("<box>[50,\n25,100,75]</box>"), VQA, 0.0),  # 212: `.` stops at a newline
    V(think_answer("<box>[100,75,50,25]</box>"), VQA, 0.0),  # 387-396: inverted, no overlap
    V(think_answer("<box>[50,25,50,75]</box>"), VQA, 0.0),  # 396: zero area, overlap 0
    V(think_answer("<box>[0,0,200,150]</box>"), VQA, 2500 / 30000),  # 387-396
    V(think_answer("<box>[50.5,25,100,75]</box>"), VQA, 49.5 * 50 / 2500),  # 387-396
    V(think_answer("<box> [50,25,100,75]</box>"), VQA, 0.0),  # 212: "[" right after <box>
    V("<answer>x</answer><answer><box>[50,25,100,75]</box></answer>", VQA, 0.0),  # 189: first <answer>
    V(think_answer("<box>[true,25,100,75]</box>"), VQA, 2500 / (99 * 50)),  # 378: true -> 1.0
]

# ---------------------------------------------------------------- thk_spatial_reward (483-636) -> spatial
MAN = claim("man", "<box>[10,10,30,30]</box>", "2.0")
FAR = claim("man", "<box>[10,10,30,30]</box>", "9.0")
SPATIAL = [
    V(think_answer("a", MAN), ST, 1.0),  # 589-627: none mode scores man 1 and dog 0, max 1
    V(think_answer("a", MAN), ST, 0.5, 1.0, params=(("iou_mode", "avg"),)),  # 624-625: (1 + 0) / 2; default: man only
    V(think_answer("a", claim("cat", "<box>[10,10,30,30]</box>", "2.0")), ST, 1.0, 0.0),  # 593: no name test
    V(think_answer("a", claim("man", "<box>[10,10,30,30]</box>", "3.0")), ST, 1.0),  # 568: |2 - 3| <= 1
    V(think_answer("a", claim("man", "<box>[10,10,30,30]</box>", "3.5")), ST, 0.0),  # 577: no key frame in 1 s
    V(think_answer("a", claim("man", "<box>[10,10,30,30]</box>", "4.1")), ST, 100 / 700),  # 573-575: frame 5.0
    V(think_answer("a", MAN + FAR), ST, 0.5),  # 633: all claims in the denominator
    V(think_answer("a", MAN + FAR), ST, 1.0, params=(("norm_mode", "matched"),)),  # 630-631
    V(think_answer("a", claim("man", "<box>[10,10,30,30]</box>", "1.2")), EDGES, 0.0, 1.0),  # 568: 1.0000000000000002
    V(think_answer("a", claim("cup", "<box>[0,0,10,10]</box>", "2.0")), EDGES, 0.0, 1.0),  # 573-575: 2.2 is nearer
    V(think_answer("a", claim("cup", "<box>[0,0,10,10]</box>", "2.0")), CUP, 1.0),  # 568: |3.0 - 2.0| == 1.0
    V(think_answer("a", claim("dog", "<box>[40,40,60,60]</box><box>[70,70,90,90]</box>", "2")), ST, 1.0),  # 611-620
    V(think_answer("a", claim("dog", "<box>[40,40,60,60]</box>", "2")), ST, 0.5),  # 616-621: (1 + 0) / 2
    V(think_answer("a", claim("dog", "<box>[[40,40,60,60],[70,70,90,90]]</box>", "2")), ST, 0.0, 1.0),  # 317-318
    V(think_answer("a", "<obj>man</obj><box>[10,10,30,30]</box>at <t>2</t>s"), ST, 0.0, 1.0),  # 306: "at<t>"
    V(think_answer("a", MAN + claim("man", "<box>[10,10,30,30]</box>", "abc")), ST, 1.0, 0.5),  # 313, 328
    V(f"<think>{MAN}</think>", ST, 0.0),  # 492-495: no <answer>
    V(think_answer("a", MAN), TQA, 0.0),  # 535-538
    V(think_answer("a", MAN), MCQ, 0.0),  # 535-538
    V(think_answer("a", claim("Man ", "<box>[10,10,30,30]</box>", "2")), ST, 1.0,
      params=(("name_match", "strict"),)),  # 352-356: lower().strip() then ==
    V(think_answer("a", claim("the man", "<box>[10,10,30,30]</box>", "2")), ST, 0.0,
      params=(("name_match", "strict"),)),  # 356: as written
    V(think_answer("a", claim("woman", "<box>[10,10,30,30]</box>", "2")), ST, 1.0,
      params=(("name_match", "soft"),)),  # 361: "man" in "woman" (the default matches words: 0 without the switch)
    V(think_answer("a", claim("", "<box>[10,10,30,30]</box>", "2")), ST, 1.0,
      params=(("name_match", "soft"),)),  # 361: "" is in every name
    V(think_answer("a", claim("man", "<box>[20,20,40,40]</box>", "9.0")), ST, 1.0,
      params=(("two_sided_gate", False),)),  # 570: 2 - 9 and 5 - 9 < 1; nearest is 5.0
    V(think_answer("a", claim("man", "<box>[20,20,40,40]</box>", "0.5")), ST, 0.0,
      params=(("two_sided_gate", False),)),  # 570: 2 - 0.5 = 1.5 is not < 1
    V(think_answer("a", claim("man", "<box>[20,20,40,40]</box>", "2.6")), SPLIT, 0.0, 1.0,
      params=(("name_match", "strict"),)),  # 573-583: nearest frame 2.0 holds no man
    V(think_answer("a", claim("man", '<box>["10",10,30,30]</box>', "2")), ST, 1.0, 0.0),  # 378: numpy converts
    V(think_answer("a", claim("man", "<box>[10,10,30]</box>", "2")), ST, 0.0),  # 375
    V(think_answer("a", "<obj>man</obj> walks " + claim("dog", "<box>[40,40,60,60]</box><box>[70,70,90,90]</box>",
                                                        "2")), ST, 1.0, 0.5),  # 306: the name runs over tags
    V(think_answer("a", MAN + claim("man", "<box>[10,10,30,30]</box>", "7")), ST, 0.25, 0.5,
      params=(("iou_mode", "avg"),)),  # 624-633: 0.5 / 2
    V(think_answer("a", MAN + claim("man", "<box>[10,10,30,30]</box>", "7")), ST, 0.5, 1.0,
      params=(("iou_mode", "avg"), ("norm_mode", "matched"))),  # 624-631: 0.5 / 1
    V(think_answer("a", "<box>[0,0,10,10]</box> then <box>[50,25,100,75]</box>"), VQA, 1.0),  # 517-530: max
    V(think_answer("a", "no box"), VQA, 0.0),  # 526, 532
    V(think_answer("a", "<box>[x]</box><box>[75,25,125,75]</box>"), VQA, 1250 / 3750),  # 524: bad JSON skipped
]

# ---------------------------------------------------------------- thk_temporal_point_reward (438-480)
S = "<t>3.0</t>s"
POINT = [
    V(think_answer("a", "<t>2.0</t>s"), ST, 1.0),  # 466-471: dt 0
    V(think_answer("a", S), ST, math.exp(-1 / 32)),  # 467-468: sigma 4 at p = 0
    V(think_answer("a", S), ST, math.exp(-1 / 8), progress=0.5),  # 468: sigma 2
    V(think_answer("a", S), ST, math.exp(-0.5), progress=0.75),  # 467, 470: p < 3/4 fails, sigma 1
    V(think_answer("a", S), ST, math.exp(-1 / (2 * (4 * (1 - 0.7499)) ** 2)), progress=0.7499),  # 468
    V(think_answer("a", S), ST, math.exp(-0.5), progress=1.2),  # 470
    V(think_answer("a", S), ST, math.exp(-1 / 72), math.exp(-1 / 32), progress=-0.5),  # 468: sigma 6
    V(think_answer("a", "<t>2</t>s <t>8</t>s"), ST, (1 + math.exp(-4.5)) / 2, progress=0.75),  # 465-477
    V(think_answer("a", "<t>3.0</t>"), ST, 0.0, math.exp(-1 / 32)),  # 456: "</t>s" required
    V(think_answer("a", "<t>3.0</t>s <t>x</t>s"), ST, math.exp(-1 / 32), math.exp(-1 / 32) / 2),  # 456
    V(think_answer("a", "<t>3..0</t>s"), ST, 0.0),  # 458-460: float() fails, no times
    V(think_answer("a", "<t>3.</t>s"), ST, math.exp(-1 / 32)),  # 456, 458
    V("<answer>a</answer><t>2</t>s", ST, 0.0),  # 448: no <think>
    V(think_answer("a", S), GroundTruth("temporal_qa", key_frames=ST.key_frames), 0.0),  # 448
    V(think_answer("a", S), GroundTruth("image_qa", key_frames=ST.key_frames), 0.0),  # 448
    V(think_answer("a", S), GroundTruth("general_free_form", key_frames=ST.key_frames), 0.0),  # 448
    V(think_answer("a", "no time"), ST, 0.0),  # 478-479
    V(think_answer("a", "<t>3.5</t>s"), ST, math.exp(-1.125), progress=0.75),  # 465: nearest is 1.5 away
    V(think_answer("a", "<t> 3.0 </t>s"), ST, 0.0, math.exp(-1 / 32)),  # 456: no spaces in `[\d.]+`
    V(think_answer("<t>2</t>s", "a"), ST, 0.0),  # 454: the reasoning only
    V("<think>a</think><think><t>2</t>s</think><answer>b</answer>", ST, 0.0),  # 446: first <think>
    V(think_answer("a", "<t>.5</t>s"), ST, math.exp(-1.125), progress=0.75),  # 458: float(".5")
]

# ---------------------------------------------------------------- thk_temporal_segment_reward (399-435)
SEGMENT = [
    V(think_answer("a", "<t>2.0</t>s <t>4</t>s <t>6.0</t>s <t>7</t>s"), TQA, 0.75),  # 427-431: ends included
    V(think_answer("a", "<t>3</t>s <t>oops</t>s"), TQA, 1.0, 0.5),  # 414: "oops" is not read
    V(think_answer("a", "<t>3..5</t>s <t>4</t>s"), TQA, 0.0, 0.5),  # 421-424: one bad float zeroes all
    V(think_answer("a", "<t>1.999</t>s"), TQA, 0.0),  # 428
    V(think_answer("a", "<t>6.0001</t>s"), TQA, 0.0),  # 428
    V(think_answer("a", "<t>2</t>s"), TQA, 1.0),  # 428
    V(think_answer("a", "<t>6</t>s"), TQA, 1.0),  # 428
    V("<answer>a</answer><t>3</t>s", TQA, 0.0),  # 407: no <think>
    V(think_answer("a", "<t>3</t>s"), GroundTruth("st_free_form", span_seconds=(2.0, 6.0)), 0.0),  # 407
    V(think_answer("a", "<t>3</t>s"), GroundTruth("general_mcq", span_seconds=(2.0, 6.0)), 0.0),  # 407
    V(think_answer("a", "<t>3</t>s"), GroundTruth("image_qa", span_seconds=(2.0, 6.0)), 0.0),  # 407
    V(think_answer("a", "<t>3</t>s <t>9</t>s"), TMCQ, 0.5),  # 417-418: MCQ span on line 2
    V(think_answer("a", "<t>3</t>"), TQA, 0.0, 1.0),  # 414: "</t>s" required
    V(think_answer("a", "<t>3.</t>s"), TQA, 1.0),  # 421: float("3.")
    V(think_answer("a", "no time"), TQA, 0.0),  # 426
    V(think_answer("<t>3</t>s", "a"), TQA, 0.0),  # 412: the reasoning only
    V(think_answer("a", "<t>.</t>s"), TQA, 0.0),  # 421-424
    V(think_answer("a", "<t>4</t>s"), GroundTruth("temporal_qa", span_seconds=(4.0, 4.0)), 1.0),  # 428
    V(think_answer("a", "<t>1</t>s<t>2</t>s<t>3</t>s<t>10</t>s<t>5</t>s"), TQA, 0.6),  # 427-431
    V(think_answer("a", "<T>3</T>s"), TQA, 0.0),  # 414: case-sensitive
    V(think_answer("a", "<t>2.5</t>s and <t>5.5</t>s"), TQA, 1.0),  # 428
]

# ---------------------------------------------------------------- format_reward (239-301) -> format_visioncoach
GROUNDED = "<obj>m</obj><box>[1,2,3,4]</box>at<t>1</t>s"
FORMAT = [
    V(think_answer("a", GROUNDED), ST, 1.0),  # 284, 295
    V(think_answer("a", "plain"), ST, 0.5),  # 298
    V("<answer>a</answer>", ST, 0.0),  # 250-252
    V("<think>a</think>", ST, 0.0),  # 250-252
    V("<think>a</think><think>b</think><answer>x</answer>", ST, 0.5),  # 266: first <think>
    V("<think>a<answer>x</answer>", ST, 0.0),  # 250
    V("<think>a</think></think><answer>x</answer>", ST, 0.0),  # 254-258
    V(think_answer("x", "<obj>m"), ST, 0.0),  # 277-281
    V(think_answer("x", "<t>1</t>s <t>2</t>s"), TQA, 1.0),  # 286-287
    V(think_answer("x", "<t>1</t>s"), TQA, 0.5),  # 287
    V(think_answer("x", GROUNDED), TQA, 0.5),  # 287 replaces 284
    V(think_answer("B", "a"), MCQ, 1.0),  # 295: general video QA
    V(think_answer("<obj>man</obj><box>[1,2,3,4]</box>", "x"), VQA, 1.0),  # 289-293
    V(think_answer("<obj>red man</obj><box>[1,2,3,4]</box>", "x"), VQA, 0.5),  # 290: `\w+`, one word
    V(think_answer("x", GROUNDED), VQA, 1.0),  # 284 still holds on visual QA
    V(think_answer("x", "<obj>m</obj>"), ST, 0.5),  # 284: no <t>, no <box>
    V("<answer>x</answer><think>y</think>", ST, 0.5),  # 247-248: order free
    V("<think>y</think><answer>x</answer><answer>", ST, 0.0),  # 260-264
    V("<think>y</think><answer><obj>x</answer>", ST, 0.5),  # 268-275: tags counted in <think> only
    V(think_answer("x", "<t>1</t>s<t>2</t>s"), TMCQ, 1.0),  # 286-287
    V(think_answer("x", "<t>1</t></t>"), ST, 0.0),  # 278
    V(think_answer("<obj>man</obj><box>[1,\n2,3,4]</box>", "x"), VQA, 0.5),  # 290-291: no DOTALL, no pair
]

MCQ_ONLY = [v for v in ACCURACY if v.gt.task in ("general_mcq", "temporal_mcq")]  # the `mcq` reward alone
TABLES = {"tiou": TIOU, "accuracy": ACCURACY, "mcq": MCQ_ONLY, "rouge": ROUGE, "answer_box": BOX, "spatial": SPATIAL,
          "temporal_point": POINT, "temporal_segment": SEGMENT, "format_visioncoach": FORMAT}  # fmt: skip
CASES = [(name, i, vector) for name, table in TABLES.items() for i, vector in enumerate(table)]


@pytest.mark.parametrize(("name", "index", "vector"), CASES, ids=[f"{n}-{i:02d}" for n, i, _ in CASES])
def test_visioncoach_convention(name: str, index: int, vector: Vector) -> None:
    check(name, vector, "visioncoach")


@pytest.mark.parametrize(("name", "index", "vector"), CASES, ids=[f"{n}-{i:02d}" for n, i, _ in CASES])
def test_default_convention(name: str, index: int, vector: Vector) -> None:
    check(name, vector, "default")


def test_every_table_has_twenty_vectors() -> None:
    assert all(len(table) >= 20 for table in TABLES.values()), {k: len(v) for k, v in TABLES.items()}


@pytest.mark.parametrize("vector", ROUGE)
def test_rouge_through_accuracy(vector: Vector) -> None:
    check("accuracy", vector, "visioncoach")


def test_mcq_paper_exact_passes_through_accuracy() -> None:
    lower = think_answer("c")
    assert REWARDS["accuracy"](lower, MCQ, paper_exact=True)["score"] == 0.0
    assert REWARDS["accuracy"](lower, MCQ)["score"] == 1.0
    assert REWARDS["accuracy"](lower, MCQ, convention="visioncoach", paper_exact=False)["score"] == 1.0
