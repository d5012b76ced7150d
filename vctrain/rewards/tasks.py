"""Task families the rewards gate on, named as vcprep names tasks (VisionCoach's upstream names in comments).

VisionCoach's rewards pay 0 on tasks they do not apply to (reward_func.py reads `kwargs['task'][0]`); here the gate
reads each row's own task, so a mixed batch is scored item by item.
"""

from __future__ import annotations

TEMPORAL_TASKS = frozenset({"temporal_qa", "temporal_mcq"})
"""`temporal QA`, `temporal QA (MCQ)`: the answer is a span; >= 2 `<t>` count as grounded."""
GENERAL_TASKS = frozenset({"mcq", "video_qa", "general_qa", "general_mcq", "general_free_form"})
"""`General video QA MCQ` / `General video QA Free-form`: no grounding is asked for."""
IMAGE_TASKS = frozenset({"image_qa", "visual_qa"})
"""`visual QA`: one image, the answer is `<obj>name</obj><box>[x1,y1,x2,y2]</box>`."""
ST_FREE_FORM_TASKS = frozenset({"st_free_form", "st_reasoning"})
"""`temporal-spatial free-form QA`: grounded claims in the reasoning, a free-form answer."""
