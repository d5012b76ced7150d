"""The `vcprep` command line: build, inspect and preview visual-prompt datasets."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from vcprep.core.config import PipelineConfig

app = typer.Typer(
    help="Build visual-prompt video grounding datasets: decode -> detect -> track -> render -> Parquet shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


EXIT_OK = 0
"""Everything was written."""
EXIT_BAD_INPUTS = 1
"""The run completed, but some inputs were bad; each is recorded in meta/errors.jsonl."""
EXIT_USAGE = 2
"""The recipe or the command line is wrong (named by key), the annotation file is empty or unusable,
the output folder holds another recipe's dataset, or its data/ or meta/ folder is a symbolic link.
Nothing was read or written."""
EXIT_CANNOT_PROCEED = 3
"""The run could not proceed: disk full, permissions, or another render holds the folder's lock.
What was committed before stays valid; re-run once the cause is fixed."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised where the program is as Ctrl-C's KeyboardInterrupt is, so the same cleanup runs:
    the open shard is dropped, worker processes, the forkserver, the resource tracker and Ray are ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Received:
    """The last signal `_raise_interrupted` turned into an exception: Ray re-raises a plain KeyboardInterrupt
    from inside `ray.get`, losing which signal it was."""

    signum: int | None = None


def _raise_interrupted(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
    _Received.signum = signum
    raise Interrupted(signum)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Interrupted (Python's default would end the process on the spot,
    leaving every child process running)."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: KeyboardInterrupt) -> NoReturn:
    signum = exc.signum if isinstance(exc, Interrupted) else (_Received.signum or signal.SIGINT)
    _fail("interrupted: committed shards are intact and no process of the run is left; re-run to resume",
          128 + int(signum))


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _load_recipe(pipeline: Path, *, data_root: Path | None, annotations: Path | None = None,
                 tracks: Path | None = None, needs_annotations: bool = True) -> PipelineConfig:
    """The recipe with the command line's overrides; exit 2 naming the key or the missing annotation file."""
    from vcprep.core.config import ConfigError, load_pipeline

    try:
        cfg = load_pipeline(pipeline)
    except ConfigError as exc:
        _fail(str(exc))
    if data_root is not None:
        cfg.source.data_root = str(data_root.resolve())
    if tracks is not None:
        cfg.tracks_cache = str(tracks.resolve())
    if annotations is not None:
        cfg.source.annotations = str(annotations.resolve())
    ann = cfg.resolve(cfg.source.annotations)
    if needs_annotations and not ann.is_file():
        _fail(f"annotation file not found: {ann} (source.annotations in {pipeline})")
    return cfg


@app.command()
def render(
    pipeline: Path = typer.Argument(..., help="Pipeline recipe (YAML), e.g. pipelines/demo.yaml."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to create or resume."),
    workers: int = typer.Option(None, min=1, help="Videos processed in parallel (default: the recipe's)."),
    limit: int = typer.Option(None, min=0, help="Only the first N videos still to do (for quick trials)."),
    data_root: Path = typer.Option(None, help="Override the recipe's source.data_root."),
    annotations: Path = typer.Option(None, help="Override the recipe's source.annotations (upstream file)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    executor: str = typer.Option(
        "local", help="`local` (process pool) or `ray` (actors; the recipe's `ray:` keys; RAY_ADDRESS for a cluster)."
    ),
    tracks: Path = typer.Option(None, help="Tracks cache from `vcprep track` (overrides the recipe's tracks_cache)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="If --out holds another recipe's dataset, delete it and redo (default: refuse)."
    ),
) -> None:
    """Run a whole pipeline and write Parquet shards, meta/info.json and a README.md data card.

    Re-running the same command resumes: finished samples are kept, the rest is done.
    Exit codes: 0 ok; 1 some inputs were bad (recorded in meta/errors.jsonl); 2 recipe, usage or
    unusable annotation file; 3 the run could not proceed (disk full, permissions, folder locked).
    """
    from vcprep.core.config import ConfigError
    from vcprep.pipeline import RecipeMismatchError, run_pipeline, summary_table
    from vcprep.sources.plan import UnusableSourceError

    if executor not in ("local", "ray"):
        _fail(f"--executor must be `local` or `ray`, got {executor!r}")
    cfg = _load_recipe(pipeline, data_root=data_root, annotations=annotations, tracks=tracks)
    from vcprep.dataset.lock import DatasetLockedError
    from vcshard.schema import DatasetFormatError

    with _terminate_as_interrupt():
        try:
            if executor == "ray":
                from vcprep.cluster import run_cluster

                run = run_cluster(cfg, out, workers=workers, limit=limit, progress=not quiet, overwrite=overwrite)
                summary = run.summary
            else:
                summary = run_pipeline(cfg, out, workers=workers, limit=limit, progress=not quiet,
                                       overwrite=overwrite)
        except (ConfigError, UnusableSourceError, RecipeMismatchError, DatasetFormatError) as exc:
            _fail(str(exc))
        except DatasetLockedError as exc:
            _fail(str(exc), EXIT_CANNOT_PROCEED)
        except OSError as exc:  # ENOSPC, EACCES, EROFS...: committed shards stay valid, a re-run resumes
            _fail(f"the run could not proceed: {exc}; committed shards are intact, re-run to resume",
                  EXIT_CANNOT_PROCEED)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM, after every worker and helper was ended
            _interrupted(exc)
    typer.echo(summary_table(summary))
    if executor == "ray":
        typer.echo(run.throughput.line())
    if summary.failed:
        raise typer.Exit(EXIT_BAD_INPUTS)


@app.command()
def track(
    pipeline: Path = typer.Argument(..., help="Pipeline recipe (YAML); its source, decode, detector and tracker."),
    out: Path = typer.Option(..., "--out", "-o", help="Tracks cache folder (a Parquet file per tracked segment)."),
    limit: int = typer.Option(None, min=0, help="Only the first N videos."),
    data_root: Path = typer.Option(None, help="Override the recipe's source.data_root."),
    annotations: Path = typer.Option(None, help="Override the recipe's source.annotations (upstream file)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Detect and track every video of a recipe into a reusable tracks cache.

    Only the spans the recipe's samples need are tracked (their clips plus `decode.track_margin_seconds`);
    a segment whose video content, detector, tracker and frames match a cached file is skipped.
    `vcprep render RECIPE --tracks DIR` then renders any prompt variant without re-running detection.
    """
    from vcprep.core.config import ConfigError
    from vcprep.sources.plan import UnusableSourceError
    from vcprep.track.stage import run_track_stage, track_summary_table

    cfg = _load_recipe(pipeline, data_root=data_root, annotations=annotations)
    try:
        summary = run_track_stage(cfg, out, progress=not quiet, limit=limit)
    except (ConfigError, UnusableSourceError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"the run could not proceed: {exc}", EXIT_CANNOT_PROCEED)
    typer.echo(track_summary_table(summary))
    if summary.errors:
        raise typer.Exit(EXIT_BAD_INPUTS)


@app.command()
def evaluate(
    pipeline: Path = typer.Argument(..., help="Pipeline recipe (YAML); its decode, detector, tracker, postprocess."),
    gt: Path = typer.Option(..., "--gt", help="Multi-object ground truth, MOT format (frame,id,x,y,w,h,...)."),
    video: str = typer.Option(..., "--video", help="The ground truth's video, relative to the data root."),
    data_root: Path = typer.Option(None, help="Override the recipe's source.data_root."),
    phrase: list[str] = typer.Option(None, "--phrase", help="Text prompt for a text-prompted tracker (sam3); "
                                     "repeat for several. Default: the ground truth's class names (COCO ids in "
                                     "its 8th column), or `person` for a one-class file."),
) -> None:
    """Track the ground truth's stretch of VIDEO with the recipe and print HOTA, IDF1, MOTA and recall."""
    from vcprep.core.errors import InputError
    from vcprep.track.evaluate import evaluate_recipe

    cfg = _load_recipe(pipeline, data_root=data_root, needs_annotations=False)  # the ground truth is --gt
    try:
        result = evaluate_recipe(cfg, video, gt, phrases=phrase or ())
    except (InputError, OSError) as exc:
        _fail(str(exc))
    if result.phrases:
        typer.echo(f"phrases: {', '.join(result.phrases)}")
    typer.echo(result.report.line())
    typer.echo(f"{result.frames_tracked} frames tracked, {result.seconds_per_frame * 1000:.0f} ms a frame")


@app.command()
def preview(
    dataset: Path = typer.Argument(..., help="Dataset folder written by `vcprep render`."),
    out: Path = typer.Option(None, "--out", "-o", help="PNG to write (default: DATASET/preview.png)."),
    sample: str = typer.Option(None, help="Sample id (default: the first sample)."),
    frames: int = typer.Option(6, min=1, max=1000, help="Frames per variant."),
    width: int = typer.Option(320, min=16, max=4096, help="Width of each tile in pixels."),
    mp4: str = typer.Option(None, "--mp4", help="Also write this variant of the sample as H.264 MP4 beside the PNG."),
    mp4_fps: float = typer.Option(None, min=0.1, max=1000.0,
                                  help="Frame rate of the MP4 (default: the rate the frames were sampled at)."),
) -> None:
    """Write a contact sheet (variants by frames) of one sample as PNG, and optionally one variant as MP4."""
    from vcprep.dataset.preview import write_contact_sheet, write_variant_mp4
    from vcshard.schema import DatasetFormatError

    target = out or dataset / "preview.png"
    try:
        sample_id = write_contact_sheet(dataset, target, sample_id=sample, num_frames=frames, tile_width=width)
        typer.echo(f"wrote {target} (sample {sample_id})")
        if mp4:
            movie = target.with_name(f"{target.stem}_{mp4.replace('+', '_')}.mp4")
            _, count = write_variant_mp4(dataset, movie, mp4, sample_id=sample_id, fps=mp4_fps)
            typer.echo(f"wrote {movie} ({count} frames of variant {mp4})")
    except (FileNotFoundError, KeyError, DatasetFormatError, ValueError) as exc:  # ValueError: a refused frame
        _fail(str(exc).strip("'\""))


@app.command()
def verify(
    dataset: Path = typer.Argument(..., help="Dataset folder written by `vcprep render`."),
    no_frames: bool = typer.Option(False, "--no-frames", help="Skip decoding every stored frame (faster)."),
) -> None:
    """Check format version, schema, manifest counts and sha256, duplicates, row hashes and every frame.

    Exits 1 and lists the reasons when anything is wrong.
    """
    from vcprep.dataset.verify import verify_dataset

    report = verify_dataset(dataset, decode_frames=not no_frames)
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def plugins(
    kind: str = typer.Argument(None, help="detector, tracker, renderer or source (default: all four)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """List every detector, tracker, renderer and source a recipe can name, with the parameters each takes
    (under `params:`, or beside `name:` for a renderer), their defaults and docs, read from the plug-ins' code."""
    import json

    from vcprep.core.config import ConfigError
    from vcprep.core.plugin_docs import format_docs
    from vcprep.plugins import plugin_docs

    try:
        docs = plugin_docs(kind)
    except ConfigError as exc:
        _fail(str(exc))
    typer.echo(json.dumps([d.to_dict() for d in docs], indent=1) if as_json else format_docs(docs))


@app.command()
def stats(
    dataset: Path = typer.Argument(..., help="Dataset folder written by `vcprep render`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Summarise a dataset: samples, frames, duration, variants, IDs, tracking ceiling, errors."""
    import json

    from vcprep.dataset.stats import dataset_summary, format_summary
    from vcshard.schema import DatasetFormatError

    try:
        summary = dataset_summary(dataset)
    except (FileNotFoundError, DatasetFormatError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(summary, indent=2, sort_keys=True) if as_json else format_summary(summary))


@app.command()
def export(
    dataset: Path = typer.Argument(..., help="Dataset folder written by `vcprep render`."),
    to: str = typer.Option(..., "--to", help="Row layout: verl, easyr1 or trl."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train.parquet, the files it points at, README.md."),
    variant: list[str] = typer.Option(None, "--variant", help="Only these variants (repeatable; default all)."),
    frames_as: str = typer.Option(None, "--frames-as",
                                  help="video or images (EasyR1 takes both; default video; verl video, TRL images)."),
    path_root: Path = typer.Option(None, "--path-root",
                                   help="Write file paths relative to this parent of OUT (combine exports under it)."),
    absolute_paths: bool = typer.Option(False, "--absolute-paths", help="Write absolute file paths."),
    processor: str = typer.Option(None, "--processor",
                                  help="Count prompt tokens per row with this processor (local folder or HF name)."),
    min_pixels: int = typer.Option(None, "--min-pixels", help="Frame area floor for the token count."),
    max_pixels: int = typer.Option(None, "--max-pixels", help="Frame area cap for the token count."),
    max_prompt_length: int = typer.Option(None, "--max-prompt-length",
                                          help="Name the rows a framework with this data.max_prompt_length drops."),
) -> None:
    """Write the dataset in verl / EasyR1 / TRL row layout (train.parquet + frame or clip files + a card)."""
    from vcprep.core.errors import InputError
    from vcprep.dataset.export import FORMATS, ExportOptions, export_dataset
    from vcprep.dataset.prompt_tokens import TokenBudget
    from vcshard.schema import DatasetFormatError

    if to not in FORMATS:
        _fail(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")
    if max_prompt_length is not None and processor is None:
        _fail("--max-prompt-length needs --processor (the tokens are counted with it)")
    budget = TokenBudget(processor, min_pixels, max_pixels, max_prompt_length) if processor else None
    options = ExportOptions(to=to, variants=variant or None, frames_as=frames_as, path_root=path_root,
                            absolute_paths=absolute_paths, tokens=budget)
    try:
        result = export_dataset(dataset, out, to=to, options=options)
    except (FileNotFoundError, DatasetFormatError, InputError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"the export could not proceed: {exc}", EXIT_CANNOT_PROCEED)
    typer.echo(result.summary())


@app.command()
def view(
    datasets: list[Path] = typer.Argument(..., help="One dataset folder, or two to compare sample by sample."),
    eval_run: Path = typer.Option(None, "--eval", help="A `vctrain eval` output: checkpoint folder or report JSON."),
    port: int = typer.Option(8765, help="Port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", help="Address to bind; the default keeps the app on this machine."),
) -> None:
    """Look at datasets, their tracks and a model's answers in the browser (read-only, offline).

    On a remote machine, forward the port: `ssh -L 8765:localhost:8765 HOST`, then open
    http://localhost:8765/ on your own machine.
    """
    import time

    from vcprep.view.api import ViewApp
    from vcprep.view.server import make_server

    if len(datasets) > 2:
        _fail(f"vcprep view takes one or two datasets, got {len(datasets)}")
    started = time.perf_counter()
    viewer = ViewApp.open(list(datasets), eval_run)
    for opened in viewer.datasets:
        if opened.error:
            typer.secho(f"warning: {opened.root}: {opened.error}", fg=typer.colors.YELLOW, err=True)
        for problem in opened.catalog.problems if opened.catalog else []:
            typer.secho(f"warning: {opened.root}: {problem}", fg=typer.colors.YELLOW, err=True)
    if viewer.eval_error:
        typer.secho(f"warning: {viewer.eval_error}", fg=typer.colors.YELLOW, err=True)
    try:
        server = make_server(viewer, host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port} ({exc}); choose another --port", EXIT_CANNOT_PROCEED)
    address = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_address[1]}/"
    typer.echo(f"vcprep view: {address}  (opened in {time.perf_counter() - started:.2f} s; Ctrl-C stops)", )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
