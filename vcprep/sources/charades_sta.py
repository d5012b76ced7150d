"""Charades-STA (temporal sentence grounding on Charades videos).

Upstream files: `charades_sta_train.txt` / `charades_sta_test.txt`, one line per query,

    AO8RW 0.0 6.9##a person is putting a book on a shelf.

(video id, start and end in **seconds**, `##`, the sentence), and Charades' `Charades_v1_train.csv`
/ `Charades_v1_test.csv` whose `length` column is each video's duration in seconds.

Conventions resolved here:
- the task is temporal QA (VisionCoach's `From <t>s</t>s to <t>e</t>s` answer); no boxes.
- some upstream spans end after the video: with a duration CSV the end is clamped to the
  duration and `x_end_clamped` records the original end; a start at or after the end of the
  video is a malformed record.
- sample ids are `charades-<vid>-<line number>` (the same video and span can occur twice).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample
from vcprep.sources.common import RecordError, check_span, guarded, number, resolve_aux, text_lines, video_under


def read_durations(path: Path) -> dict[str, float]:
    """Charades `id -> length` (seconds) from one of the `Charades_v1_*.csv` files."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"id", "length"} <= set(reader.fieldnames):
            raise RecordError(f"{path}: expected Charades CSV columns 'id' and 'length', got {reader.fieldnames}")
        return {row["id"]: float(row["length"]) for row in reader if row.get("length")}


class CharadesStaSource:
    def __init__(
        self, *, annotations: str, durations: str | None = None, video_dir: str = "", video_ext: str = ".mp4",
    ) -> None:
        """
        Args:
            annotations: the Charades-STA text file (`VID start end##sentence` per line; the recipe's
                `source.annotations`).
            durations: the Charades CSV with each video's length (relative to the annotation file's folder), used
                to clamp spans that end after the video; None: spans are taken as written.
            video_dir: folder of the videos under the data root: a video is `video_dir/<vid><video_ext>`.
            video_ext: file extension of the videos.
        """
        self.path = Path(annotations)
        self.durations_path = resolve_aux(self.path, durations)
        self.video_dir = video_dir
        self.video_ext = video_ext

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        if not self.path.is_file():
            yield ErrorRecord("source", str(self.path), "", "annotation file not found")
            return
        durations: dict[str, float] | None = None
        if self.durations_path is not None:
            try:
                if not self.durations_path.is_file():
                    raise RecordError(f"{self.durations_path}: duration CSV not found")
                durations = read_durations(self.durations_path)
            except (RecordError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                yield ErrorRecord("source", str(self.durations_path), "", str(exc))
                return
        for lineno, line in text_lines(self.path):
            if isinstance(line, RecordError):
                yield ErrorRecord("source", str(self.path), f"line {lineno}", f"malformed record: {line}")
                continue
            if not line.strip():
                continue
            key = f"line {lineno}: {line.split('##')[0].strip()}"
            yield from guarded(self.path, key, self.parse, line, lineno, durations)

    def parse(self, line: str, lineno: int, durations: dict[str, float] | None) -> Sample:
        head, sep, sentence = line.rstrip("\n").partition("##")
        parts = head.split()
        if not sep or len(parts) != 3 or not sentence.strip():
            raise RecordError(f"expected 'VID start end##sentence', got {line.strip()!r}")
        vid = parts[0]
        start, end = check_span(number(parts[1], "start"), number(parts[2], "end"))
        extra: dict[str, object] = {}
        if durations is not None:
            if vid not in durations:
                raise RecordError(f"video {vid} has no length in {self.durations_path}")
            duration = durations[vid]
            if start >= duration:
                raise RecordError(f"span starts at {start} s, at or after the end of the video ({duration} s)")
            if end > duration:
                extra["x_end_clamped"] = end
                end = duration
            extra["x_duration_seconds"] = duration
        return Sample(
            sample_id=f"charades-{vid}-{lineno}",
            video_path=video_under(self.video_dir, vid + self.video_ext),
            question=sentence.strip(),
            task="temporal_qa",
            source="charades_sta",
            gt_span_seconds=(start, end),
            extra=extra,
        )
