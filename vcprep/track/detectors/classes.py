"""Class names: COCO's 80, and the `classes:` filter every multi-class detector accepts.

A detector declares the names of the class ids it reports (`Detector.class_names`, class id k is
`class_names[k]`), so a recipe, a source's category table or a report can ask for classes by name and
learn which ones no detector covers, without loading any model.
"""

from __future__ import annotations

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)
"""The 80 COCO detection classes in their usual order (class id = position), as ultralytics names them."""

COCO_PERSON = "person"


def resolve_classes(names: dict[int, str], classes: str | list[str | int]) -> list[int] | None:
    """`all` -> None (no filter); `person`; `non-person`; or a list of names / ids -> class ids.

    Unknown names are an error that lists the model's classes, so a typo never filters everything out.
    """
    by_name = {v.lower(): k for k, v in names.items()}
    if classes == "all":
        return None
    if classes in ("person", "non-person"):
        if COCO_PERSON not in by_name:
            raise ValueError(f"class filter {classes!r}: the model has no 'person' class ({sorted(by_name)[:10]}...)")
        person = by_name[COCO_PERSON]
        return [person] if classes == "person" else [k for k in names if k != person]
    if isinstance(classes, str):
        classes = [classes]
    out = []
    for c in classes:
        if isinstance(c, int) or (isinstance(c, str) and c.isdigit()):
            if int(c) not in names:
                raise ValueError(f"class id {c} is not in the model's {len(names)} classes")
            out.append(int(c))
        elif c.lower() in by_name:
            out.append(by_name[c.lower()])
        else:
            raise ValueError(f"unknown class {c!r}; the model knows {sorted(by_name)}")
    return out
