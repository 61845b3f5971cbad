"""Typer sub-app for `listening-post themes ...`: tag, eval, build (and cv).

The lead wires it in with `root.add_typer(themes.cli.app, name="themes")`; it also runs on
its own as `python -m themes.cli`.
"""

from __future__ import annotations

import gc
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from themes.codebook import CodebookError, load_codebook
from themes.labelled import LabelledDataError, read_training
from themes.tagger import (
    PipelineMissingError,
    load_tagger,
    shipped_pipeline_path,
    skip_lexical_attributes,
)

if TYPE_CHECKING:
    from themes.training import BuildOutcome

GC_THRESHOLD = 10_000  # allocations between young-generation collections (Python's default: 700)

app = typer.Typer(help="Tag resident messages with themes, signals and safeguarding risk.")

PipelineOption = Annotated[
    Path | None, typer.Option("--pipeline", help="A built pipeline directory (default: shipped).")
]
CodebookOption = Annotated[
    Path | None, typer.Option("--codebook", help="Codebook TOML (default: the shipped one).")
]
BuildDataOption = Annotated[
    Path | None, typer.Option(help="Folder of training *.jsonl (default: themes/data/labelled).")
]
DateOption = Annotated[
    str | None, typer.Option("--date", help="Version date YYYY-MM-DD (default: today).")
]
CalibrateOption = Annotated[
    bool,
    typer.Option(
        help="Choose the safeguarding settings again on the development splits "
        "(tests/data/labelled; skipped when that folder is not there)."
    ),
]
EncoderOption = Annotated[
    bool,
    typer.Option(
        help="Ask the pipeline's risk encoder (a fine-tuned transformer) about messages the "
        "phrases and the classifier leave unflagged; --no-encoder is ~18x faster and misses more."
    ),
]
BuildEncoderOption = Annotated[
    bool,
    typer.Option(
        help="Add the trained risk encoder (themes/data/risk_encoder); the calibration "
        "chooses its threshold (without calibration it is not asked)."
    ),
]
EncoderDirOption = Annotated[
    Path | None,
    typer.Option(help="An exported risk encoder to add instead of the shipped one."),
]
SplitsOption = Annotated[
    Path | None,
    typer.Option(help="Folder holding the development splits (default: tests/data/labelled)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@app.command()
def tag(
    file: Annotated[
        Path | None, typer.Argument(help="JSON lines {id, text}; stdin if absent.")
    ] = None,
    pipeline: PipelineOption = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: 2 where possible).")
    ] = None,
    encoder: EncoderOption = True,
) -> None:
    """Tag JSON lines {"id", "text"}: themes, signals, safeguarding and evidence for each."""
    from themes.stream import default_workers, tag_stream

    processes = workers or default_workers()
    try:
        tagger = load_tagger(pipeline, encoder=encoder)
    except PipelineMissingError as error:
        raise _fail(str(error)) from error
    skip_lexical_attributes(tagger)  # only the tags are written: see its doc
    _settle_heap()
    if file is None:
        report = tag_stream(tagger, sys.stdin, sys.stdout, sys.stderr, batch_size, processes)
    else:
        if not file.is_file():
            raise _fail(f"no such file: {file}")
        with file.open(encoding="utf8") as lines:
            report = tag_stream(tagger, lines, sys.stdout, sys.stderr, batch_size, processes)
    if report.bad_lines:
        typer.echo(f"{len(report.bad_lines)} bad line(s) skipped, {report.tagged} tagged", err=True)
        raise typer.Exit(code=1)


def _settle_heap() -> None:
    """Keep the garbage collector off the loaded pipeline while tagging.

    The pipeline is a few hundred thousand long-lived objects: frozen, they are no longer
    scanned again and again while tagging allocates (nor touched in forked workers, which
    would copy their memory pages), and collections are rarer.
    """
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="A labelled file in the codebook format.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    pipeline: PipelineOption = None,
    codebook: CodebookOption = None,
    encoder: EncoderOption = True,
) -> None:
    """Per-label P/R/F1, micro/macro F1, safeguarding recall, beside the keyword baseline."""
    from themes.report import compare_on_file, comparison_json, print_comparison

    try:
        tagger = load_tagger(pipeline, encoder=encoder)
        ours, baseline = compare_on_file(file, tagger, load_codebook(codebook))
    except (PipelineMissingError, LabelledDataError, CodebookError, OSError) as error:
        raise _fail(str(error)) from error
    if as_json:
        typer.echo(json.dumps(comparison_json(ours, baseline), indent=2))
    else:
        print_comparison(Console(), ours, baseline)


@app.command()
def build(
    codebook: CodebookOption = None,
    data: BuildDataOption = None,
    out: Annotated[Path | None, typer.Option(help="Where to write (default: shipped).")] = None,
    tune: Annotated[bool, typer.Option(help="Choose thresholds by cross-validation.")] = True,
    on: DateOption = None,
    calibrate: CalibrateOption = True,
    splits: SplitsOption = None,
    encoder: BuildEncoderOption = True,
    encoder_dir: EncoderDirOption = None,
) -> None:
    """Rebuild the pipeline from the codebook and the labelled training files."""
    from themes.encoder import shipped_encoder_path
    from themes.training import build_default, calibration_messages

    try:
        today = date.fromisoformat(on) if on else None
        calibration = calibration_messages(splits) if calibrate else []
        outcome = build_default(
            out or shipped_pipeline_path(),
            codebook,
            data,
            tune=tune,
            today=today,
            calibration=calibration,
            encoder=(encoder_dir or shipped_encoder_path()) if encoder else None,
        )
    except (CodebookError, LabelledDataError, ValueError, OSError) as error:
        raise _fail(str(error)) from error
    _echo_build(outcome, len(calibration))


def _echo_build(outcome: BuildOutcome, calibration: int) -> None:
    """The built version, its thresholds, and its cross-validated and calibration figures."""
    typer.echo(
        f"built {outcome.version} from {outcome.messages} messages into {outcome.path} "
        f"(thresholds {outcome.settings.thresholds})"
    )
    for name, figures in (
        ("cross-validated", outcome.cross_validated),
        (f"calibration splits ({calibration} messages)", outcome.calibrated),
    ):
        if figures:
            summary = figures.summary().items()
            typer.echo(f"{name}: " + " ".join(f"{k}={v:.3f}" for k, v in summary))


@app.command()
def cv(
    codebook: CodebookOption = None,
    data: Annotated[Path | None, typer.Option(help="Folder of training *.jsonl.")] = None,
) -> None:
    """Cross-validate the component alternatives on the training files (for the README)."""
    from themes.experiments import compare

    try:
        results = compare(load_codebook(codebook), read_training(data))
    except (CodebookError, LabelledDataError) as error:
        raise _fail(str(error)) from error
    for result in results:
        figures = " ".join(f"{k}={v:.3f}" for k, v in result.summary().items())
        typer.echo(f"{result.name}: {figures}")


if __name__ == "__main__":
    app()
