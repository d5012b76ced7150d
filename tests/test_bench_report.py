"""`make bench` rewrites one section of BENCHMARKS.md with its stamp, keeps hand notes after the marker and every
other section; the runner knows every section and refuses an unknown one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from report import KEEP, provenance, replace_section
from run import BENCHES, main

DOC = f"""# Benchmarks

intro

## A

old a table

## B

*old stamp*

old b table

{KEEP}

notes on b, by hand

## C

c stays
"""


def test_a_section_is_replaced_and_the_others_kept() -> None:
    out = replace_section(DOC, "A", "new a table\n")
    assert out == DOC.replace("old a table", "new a table")


def test_hand_notes_after_the_marker_survive_a_rewrite() -> None:
    out = replace_section(DOC, "B", "*new stamp*\n\nnew b table\n")
    section = out[out.index("## B"):out.index("## C")]
    assert section == f"## B\n\n*new stamp*\n\nnew b table\n\n{KEEP}\n\nnotes on b, by hand\n\n"
    assert "old b table" not in out and out.endswith("## C\n\nc stays\n")


def test_a_new_section_is_appended_and_the_last_one_replaced() -> None:
    assert replace_section(DOC, "D", "d\n").endswith("c stays\n\n## D\n\nd\n")
    assert replace_section(DOC, "C", "c new\n").endswith("## C\n\nc new\n")


def test_the_stamp_names_date_commit_machine_versions_and_command() -> None:
    stamp = provenance("make bench BENCH=decode")
    assert stamp.startswith("*Measured 20") and " UTC, commit " in stamp
    assert "CPU cores" in stamp and "GiB" in stamp and "Python 3." in stamp and "numpy " in stamp
    assert stamp.endswith("Regenerate: `make bench BENCH=decode`.*")


def test_every_section_of_benchmarks_md_has_a_runner_entry_and_a_stamp() -> None:
    text = (Path(__file__).resolve().parents[1] / "BENCHMARKS.md").read_text()
    titles = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sorted(titles) == sorted(b.section for b in BENCHES)
    for title in titles:
        body = text[text.index(f"## {title}\n"):].split("\n## ", 1)[0]
        assert body.split("\n")[2].startswith("*Measured "), title
        assert "Regenerate: `make bench BENCH=" in body, title
    for b in BENCHES:
        assert (Path(__file__).resolve().parents[1] / "bench" / b.script).is_file()


def test_the_runner_lists_and_refuses_unknown_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert "decode" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["decoding"])
