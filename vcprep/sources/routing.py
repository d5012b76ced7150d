"""Class routing: each source's category names mapped to the detector classes (COCO names) that can find them.

A sample's target is only findable when the detector outputs a class its category maps to: a person
detector never tracks a VidOR `car`, and no COCO detector tracks an `antelope`. Each source has one
table (printed in its data card, `vcprep.dataset.card.routing_table`), which says which categories no
detector class covers. Two kinds of table:
- `CategoryTable`: a closed set of category names (VidOR's 80 for VidSTG; HC-STVG's people);
- `PhraseTable`: free-text object names (STGR, V-STaR, JSON Lines): the first word or word pair of the
  phrase found in the table decides (`man in a red coat` -> person, `black bicycle` -> bicycle); a
  phrase with no known word is *unknown* (routed to nothing, but not refused before tracking: the
  target match decides).

`target_classes` gives the classes a sample's target maps to; a recipe can restrict its detector to
the classes its samples need (`detector.params.classes: from_samples`, `restrict_detector_classes`):
the detector then still finds every other object of those classes, the distractors an ID answer must
be chosen from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vcprep.core.classes import COCO_80
from vcprep.core.config import PipelineConfig
from vcprep.core.types import Sample

FROM_SAMPLES = "from_samples"
"""`detector.params.classes` value asking for the classes the recipe's samples need."""


@dataclass(frozen=True)
class CategoryTable:
    """A closed set of source categories, each mapped to the detector classes that cover it (empty: none)."""

    categories: Mapping[str, tuple[str, ...]]

    def classes_for(self, name: str) -> tuple[str, ...] | None:
        """Detector classes of a category; None for a name the source does not define."""
        return self.categories.get(name.strip().lower())

    def rows(self) -> list[tuple[str, tuple[str, ...]]]:
        return sorted(self.categories.items())


@dataclass(frozen=True)
class PhraseTable:
    """Free-text object names: words (and word pairs) mapped to detector classes."""

    words: Mapping[str, tuple[str, ...]]
    uncovered: tuple[str, ...] = field(default=())
    """Common object words no detector class covers (listed in the card; they route to nothing)."""

    def classes_for(self, name: str) -> tuple[str, ...] | None:
        """Classes of the first known word pair or word of the phrase (a trailing plural `s` is tried off);
        () for a known uncovered word; None when no word is known."""
        tokens = re.findall(r"[a-z]+", name.lower())
        for i, token in enumerate(tokens):
            pair = f"{token} {tokens[i + 1]}" if i + 1 < len(tokens) else ""
            for candidate in (pair, token, token[:-1] if token.endswith("s") else ""):
                if candidate in self.words:
                    return self.words[candidate]
                if candidate and candidate in self.uncovered:
                    return ()
        return None

    def rows(self) -> list[tuple[str, tuple[str, ...]]]:
        return sorted([*self.words.items(), *((w, ()) for w in self.uncovered)])


ClassTable = CategoryTable | PhraseTable

P = ("person",)

VIDOR_CATEGORIES: dict[str, tuple[str, ...]] = {
    # VidOR's 80 object categories (VidSTG's subjects and objects). People and the COCO classes with the
    # same meaning map directly; `car` also maps to `truck` (VidOR has no van: vans are cars there, and
    # COCO detectors often call them trucks); several animals map to COCO's wider class (`bird`, `bear`).
    "adult": P, "child": P, "baby": P,
    "aircraft": ("airplane",), "antelope": (), "baby_seat": (), "baby_walker": (), "backpack": ("backpack",),
    "ball/sports_ball": ("sports ball",), "bat": ("baseball bat",), "bear": ("bear",), "bench": ("bench",),
    "bicycle": ("bicycle",), "bird": ("bird",), "bottle": ("bottle",), "bread": (), "bus/truck": ("bus", "truck"),
    "cake": ("cake",), "camel": (), "camera": (), "car": ("car", "truck"), "cat": ("cat",),
    "cattle/cow": ("cow",), "cellphone": ("cell phone",), "chair": ("chair",), "chicken": ("bird",),
    "crab": (), "crocodile": (), "cup": ("cup",), "dish": ("bowl",), "dog": ("dog",), "duck": ("bird",),
    "electric_fan": (), "elephant": ("elephant",), "faucet": (), "fish": (), "frisbee": ("frisbee",),
    "fruits": ("banana", "apple", "orange"), "guitar": (), "hamster/rat": (), "handbag": ("handbag",),
    "horse": ("horse",), "kangaroo": (), "laptop": ("laptop",), "leopard": (), "lion": (),
    "microwave": ("microwave",), "motorcycle": ("motorcycle",), "oven": ("oven",), "panda": ("bear",),
    "penguin": ("bird",), "piano": (), "pig": (), "rabbit": (), "racket": ("tennis racket",),
    "refrigerator": ("refrigerator",), "scooter": (), "screen/monitor": ("tv", "laptop"),
    "sheep/goat": ("sheep",), "sink": ("sink",), "skateboard": ("skateboard",), "ski": ("skis",), "snake": (),
    "snowboard": ("snowboard",), "sofa": ("couch",), "squirrel": (), "stingray": (), "stool": (),
    "stop_sign": ("stop sign",), "suitcase": ("suitcase",), "surfboard": ("surfboard",),
    "table": ("dining table",), "tiger": (), "toilet": ("toilet",), "toy": (), "traffic_light": ("traffic light",),
    "train": ("train",), "turtle": (), "vegetables": ("broccoli", "carrot"), "watercraft": ("boat",),
}

_PERSON_WORDS = (
    "person", "people", "man", "men", "woman", "women", "boy", "girl", "child", "children", "kid", "baby",
    "toddler", "adult", "teenager", "player", "guy", "lady", "gentleman", "worker", "rider", "cyclist",
    "driver", "pedestrian", "human", "someone", "student", "teacher", "chef", "policeman", "officer",
    "soldier", "dancer", "singer", "athlete", "referee", "customer", "mother", "father", "mom", "dad", "son",
    "daughter", "husband", "wife", "audience", "crowd", "skier", "surfer", "skater", "runner",
)

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "bike": ("bicycle",), "motorbike": ("motorcycle",), "van": ("car", "truck"), "taxi": ("car",), "cab": ("car",),
    "vehicle": ("car", "truck", "bus"), "lorry": ("truck",), "plane": ("airplane",), "aeroplane": ("airplane",),
    "jet": ("airplane",), "aircraft": ("airplane",), "ship": ("boat",), "canoe": ("boat",), "kayak": ("boat",),
    "yacht": ("boat",), "puppy": ("dog",), "kitten": ("cat",), "cattle": ("cow",), "calf": ("cow",),
    "bull": ("cow",), "goat": ("sheep",), "lamb": ("sheep",), "pony": ("horse",), "ball": ("sports ball",),
    "football": ("sports ball",), "basketball": ("sports ball",), "phone": ("cell phone",),
    "cellphone": ("cell phone",), "smartphone": ("cell phone",), "television": ("tv",), "monitor": ("tv",),
    "screen": ("tv", "laptop"), "sofa": ("couch",), "table": ("dining table",), "desk": ("dining table",),
    "mug": ("cup",), "glass": ("wine glass", "cup"), "bag": ("handbag", "backpack", "suitcase"),
    "luggage": ("suitcase",), "racket": ("tennis racket",), "racquet": ("tennis racket",),
    "bat": ("baseball bat",), "glove": ("baseball glove",), "ski": ("skis",), "plant": ("potted plant",),
    "computer": ("laptop",), "hydrant": ("fire hydrant",), "chicken": ("bird",), "duck": ("bird",),
    "penguin": ("bird",), "panda": ("bear",), "doughnut": ("donut",), "teddy": ("teddy bear",),
}

PHRASES = PhraseTable(
    words={**{w: P for w in _PERSON_WORDS}, **{c: (c,) for c in COCO_80}, **_SYNONYMS},
    uncovered=("antelope", "camel", "camera", "crab", "crocodile", "fish", "guitar", "hamster", "rat", "kangaroo",
               "leopard", "lion", "piano", "pig", "rabbit", "scooter", "snake", "squirrel", "stingray", "stool",
               "tiger", "toy", "turtle", "bread", "faucet", "fan", "door", "window", "tree", "building", "wall"),
)

TABLES: dict[str, ClassTable] = {
    "vidstg": CategoryTable(VIDOR_CATEGORIES),
    "hcstvg": CategoryTable({"person": P}),
    "stgr": PHRASES,
    "vstar": PHRASES,
    "jsonl": PHRASES,
}
"""One routing table per source plug-in (Charades-STA has no object targets, so no table)."""


def target_classes(sample: Sample) -> tuple[str, ...] | None:
    """Detector classes the sample's target (its first object name) maps to; None when unknown (no table for
    the source, no object name, or a phrase with no known word)."""
    table = TABLES.get(sample.source)
    if table is None or not sample.object_names:
        return None
    return table.classes_for(sample.object_names[0])


def classes_needed(samples: Iterable[Sample]) -> list[str]:
    """Every detector class the samples' targets map to, in COCO order."""
    wanted = {c for s in samples for c in (target_classes(s) or ())}
    return [c for c in COCO_80 if c in wanted]


def restrict_detector_classes(config: PipelineConfig, samples: Iterable[Sample]) -> PipelineConfig:
    """The recipe with `detector.params.classes: from_samples` replaced by the classes its samples need
    (an unchanged recipe otherwise). Resolved before any model is built, so worker processes, the tracks
    cache key and the recipe hash all see the explicit list."""
    if config.detector.params.get("classes") != FROM_SAMPLES:
        return config
    needed = classes_needed(samples)
    if not needed:
        raise ValueError(f"detector.params.classes: {FROM_SAMPLES} found no detector class for any sample's "
                         f"target ({config.source.name} source); list the classes instead")
    config.detector.params = {**config.detector.params, "classes": needed}
    return config


def uncovered_categories(source: str) -> list[str]:
    """The source's categories (or known object words) that no detector class covers."""
    table = TABLES.get(source)
    return [] if table is None else [name for name, classes in table.rows() if not classes]


def undetectable_reason(sample: Sample, detector_classes: tuple[str, ...] | None) -> str | None:
    """Why the sample's target cannot be tracked by a detector with these classes (None: it can, or it is
    not known): its category maps to no detector class, or to none this detector outputs."""
    if detector_classes is None:
        return None
    classes = target_classes(sample)
    if classes is None:
        return None
    name = sample.object_names[0]
    if not classes:
        return f"{name!r} ({sample.source}) maps to no detector class"
    if not set(classes) & set(detector_classes):
        return (f"{name!r} ({sample.source}) maps to {', '.join(classes)}; the detector outputs "
                f"{', '.join(detector_classes)}")
    return None
