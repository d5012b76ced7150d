"""`vcprep plugins`: every detector, tracker, renderer and source with its parameters and docs, read from the code."""

from __future__ import annotations

import ast
import json

import pytest
from typer.testing import CliRunner

from vcprep.cli import app
from vcprep.core.plugin_docs import args_section
from vcprep.core.registry import Registry
from vcprep.plugins import REGISTRIES, plugin_docs
from vcprep.render.renderers import RENDERERS


def test_every_plugin_is_listed_with_every_parameter_documented() -> None:
    docs = plugin_docs()
    assert {(d.kind, d.name) for d in docs} == {(k, n) for k, reg in REGISTRIES.items() for n in reg.names()}
    assert {d.kind for d in docs} == {"detector", "tracker", "renderer", "source"}
    for doc in docs:
        assert doc.summary, f"{doc.kind} {doc.name} has no description"
        assert not doc.unavailable, f"{doc.kind} {doc.name}: {doc.unavailable}"  # the test environment has every extra
        undocumented = [p.name for p in doc.params if not p.description]
        assert not undocumented, f"{doc.kind} {doc.name}: parameters without a description: {undocumented}"


def test_renderers_accept_exactly_the_listed_parameters() -> None:
    """The listing is the constructor's signature: every renderer builds with all listed parameters at their
    listed defaults, and refuses one that is not listed, naming it."""
    for doc in plugin_docs("renderer"):
        params = {p.name: ast.literal_eval(p.default) for p in doc.params}
        RENDERERS.build(doc.name, **params)
        with pytest.raises(ValueError, match=f"renderer '{doc.name}': bad parameters"):
            RENDERERS.build(doc.name, not_a_parameter=1)


def test_the_cli_prints_parameters_defaults_and_docs() -> None:
    runner = CliRunner()
    text = runner.invoke(app, ["plugins", "renderer"])
    assert text.exit_code == 0, text.output
    assert "  spotlight  (vcprep.render.renderers.spotlight:Spotlight)" in text.output
    assert "    - factor: float = 0.3\n        `darken`: brightness kept outside (VisionCoach: 0.3)." in text.output
    assert "    - key_frames_only: bool = False" in text.output  # documented once, on the base class
    assert "DETECTORS" not in text.output
    listed = json.loads(runner.invoke(app, ["plugins", "--json"]).output)
    ssdlite = next(d for d in listed if (d["kind"], d["name"]) == ("detector", "ssdlite"))
    tiles = next(p for p in ssdlite["params"] if p["name"] == "tiles")
    assert tiles["default"] == "(3, 2)" and "columns, rows" in tiles["description"]
    bytetrack = next(d for d in listed if (d["kind"], d["name"]) == ("tracker", "bytetrack"))
    assert bytetrack["implementation"] == "trackers:ByteTrackTracker"  # Roboflow's own class and docstring
    assert "lost_track_buffer" in [p["name"] for p in bytetrack["params"]]
    bad = runner.invoke(app, ["plugins", "detectors"])
    assert bad.exit_code == 2 and "unknown plug-in kind 'detectors'" in bad.output


def test_args_section_reads_google_style_blocks() -> None:
    doc = """Summary.

    Args:
        first: one line.
        second (int): two
            lines.
        **rest: kept without the stars.

    Returns:
        not a parameter: ends the block.
    """
    assert args_section(doc) == {"first": "one line.", "second": "two lines.", "rest": "kept without the stars."}
    assert args_section("No block here.") == {}


def test_a_plugin_whose_library_is_missing_is_listed_with_the_reason() -> None:
    registry: Registry[object] = Registry("detector")

    @registry.register("absent", implementation="vcprep_no_such_module:Detector")
    def _absent(*, confidence: float = 0.5) -> object:
        """Needs a library this machine does not have.

        Args:
            confidence: minimum score.
        """
        raise AssertionError("never built")

    doc = registry.describe("absent")
    assert "vcprep_no_such_module" in doc.unavailable
    assert [(p.name, p.default, p.description) for p in doc.params] == [("confidence", "0.5", "minimum score.")]
