"""The command line: options in, one library call, output and an exit code out.

Heavy libraries (pandas, scipy, seaborn, WeasyPrint) are imported inside the
commands that need them so that `welfare-report --help` stays quick.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import io
import math
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from . import __version__, phrasing, schema
from .errors import ReporterError, ValidationError, escaped, shown
from .formats import FORMATS

EXIT_FLAGGED, EXIT_ERROR = 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C


class StdoutClosed(ReporterError):
    """Standard output is closed or full: what was asked for could not be printed."""


@contextlib.contextmanager
def _stdout_errors() -> Iterator[None]:
    """A closed or full standard output is an error, never silently lost data."""
    try:
        yield
    except OSError as err:  # BrokenPipeError included
        raise StdoutClosed(f"could not print to standard output ({err.strerror or err})") from None


def _emit(text: str, nl: bool = True) -> None:
    """Print requested output."""
    if sys.stdout is None:
        raise StdoutClosed("standard output is closed; nothing could be printed")
    with _stdout_errors():
        click.echo(text, nl=nl)


def _flush_stdout() -> None:
    if sys.stdout is not None:
        with _stdout_errors():
            sys.stdout.flush()


def shown_lines(text: str) -> str:
    """Each line of a message made safe for a terminal: its control characters escaped."""
    return "\n".join(escaped(line) for line in text.split("\n"))
KIND_CHOICE = click.Choice(list(schema.KINDS))


@dataclass(frozen=True)
class Options:
    """The options every command shares, as `ctx.obj`."""

    history: Path
    quiet: bool
    verbose: bool
    history_given: bool = False  # named on the command line, not ./history by default (diff checks it only then)


class _Group(click.Group):
    """Turns every expected error into one sentence on stderr and exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """As click's, but a usage error is one line that says where the help is."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as err:
            where = f"welfare-report {err.ctx.info_name} --help" if err.ctx and err.ctx.parent else "welfare-report --help"
            click.echo(f"welfare-report: {err.format_message().rstrip('.')} (see '{where}')", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            click.echo(f"welfare-report: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("welfare-report: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        # Without standalone mode click hands back the exit code of ctx.exit(); commands return nothing.
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                # Output lost to a closed or full stdout must not end in a clean exit code.
                _flush_stdout()
        except KeyboardInterrupt:
            click.echo("welfare-report: interrupted; every write is all-or-nothing, so nothing was half-written", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except StdoutClosed as err:
            click.echo(f"welfare-report: {err}", err=True)
            ctx.exit(EXIT_ERROR)
        except ValidationError as err:
            click.echo(str(err), err=True)
            files = len({p.path for p in err.problems})
            outcome = "; nothing was merged" if ctx.invoked_subcommand == "merge" else ""
            click.echo(f"welfare-report: {phrasing.count(len(err.problems), 'problem')} in {phrasing.count(files, 'file')}{outcome}", err=True)
            ctx.exit(EXIT_ERROR)
        except ReporterError as err:
            click.echo(f"welfare-report: {shown_lines(str(err))}", err=True)
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as err:
            # A full disk or a refused permission: the writes are all-or-nothing, so say what failed.
            where = f" ({err.filename})" if err.filename else ""
            click.echo(f"welfare-report: cannot complete: {err.strerror or err}{where}; nothing was changed "
                       "(an interrupted merge is settled by the next 'welfare-report merge')", err=True)
            ctx.exit(EXIT_ERROR)
        except Exception as err:
            if ctx.meta.get("verbose"):
                traceback.print_exc()
            else:
                click.echo(f"welfare-report: unexpected error: {err} (run with -v for details)", err=True)
            ctx.exit(EXIT_ERROR)


def _store(ctx: click.Context) -> Any:
    from .store import Store

    return Store(_options(ctx).history)


def _options(ctx: click.Context) -> Options:
    options = ctx.find_object(Options)
    assert options is not None, "the group sets the options before any command runs"
    return options


def _say(ctx: click.Context, text: str) -> None:
    """A command's result, on stdout."""
    if not _options(ctx).quiet:
        _emit(text)


def _tell(ctx: click.Context, text: str) -> None:
    """What a command did (files written), on stderr: stdout is kept for results a script reads."""
    if not _options(ctx).quiet:
        click.echo(f"welfare-report: {text}", err=True)


def progress_printer(stream: Any, quiet: bool = False) -> Callable[[str], None]:
    """Progress for long work: on stderr, only when it is a terminal, so logs and cron mail stay clean."""
    if quiet or not stream.isatty():
        return lambda message: None

    def show(message: str) -> None:
        stream.write(f"welfare-report: {message}...\n")
        stream.flush()

    return show


def _progress(ctx: click.Context) -> Callable[[str], None]:
    return progress_printer(sys.stderr, _options(ctx).quiet)


# Commands that never hand pandas a value. pyarrow imports pandas, when installed, on its first
# conversion of a Python or numpy value (0.35 s: a third of merging 10k answers into a 1M history),
# and works without it; these commands tell it pandas is absent.
WITHOUT_PANDAS = ("merge", "validate", "check")
_OWNS_PROCESS = object()  # `ctx.obj` as `main` starts the group: the command runs in its own process


class _PandasAbsent(importlib.abc.MetaPathFinder):
    """Finds no pandas, so pyarrow's probe for it fails fast."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


RETURN_MEMORY_AT_ONCE = ("check", "render", "trend", "quarterly", "verify", "plan")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--history",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("history"),
    show_default=True,
    help="The history store to read and write.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and requested data.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and details.")
@click.version_option(__version__, prog_name="welfare-report")
@click.pass_context
def cli(ctx: click.Context, history: Path, quiet: bool, verbose: bool) -> None:
    """Write the model-welfare section of a system card from self-report data.

    Self-reports are observational data, never targets: the tool merges them
    into one auditable history, applies a fixed set of guardrail rules and
    renders the section with its evidence.

    \b
    Example:
      welfare-report --history history merge new-answers.csv
      welfare-report check
    """
    owns_process = ctx.obj is _OWNS_PROCESS
    ctx.obj = Options(history, quiet, verbose, ctx.get_parameter_source("history") is not ParameterSource.DEFAULT)
    if owns_process and ctx.invoked_subcommand in WITHOUT_PANDAS and "pandas" not in sys.modules:
        sys.meta_path.insert(0, _PandasAbsent())
    ctx.meta["verbose"] = verbose
    if ctx.invoked_subcommand in RETURN_MEMORY_AT_ONCE and "pyarrow" not in sys.modules:
        # A reader converts the answers column by column and frees each table column as it goes;
        # given back at once (not after jemalloc's second), `check` of 10M answers peaks at 1.41 GB
        # instead of 1.6 GB. A merge frees and allocates again at once, and runs 0.6 s faster without.
        os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


def _set_history(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        _replace_options(ctx, history=value, history_given=True)


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            _replace_options(ctx, **{name: True})
            if name == "verbose":
                ctx.meta["verbose"] = True

    return set_flag


def _replace_options(ctx: click.Context, **changes: Any) -> None:
    """Options given after the command override those given before it, in every context that holds them."""
    options = replace(_options(ctx), **changes)
    context: click.Context | None = ctx
    while context is not None:
        context.obj = options
        context = context.parent


_SHARED = (
    click.option("--history", type=click.Path(file_okay=False, path_type=Path), expose_value=False,
                 callback=_set_history, help="The history store (default ./history); also accepted before the command."),
    click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_flag("quiet"),
                 help="Print only errors and requested data."),
    click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_flag("verbose"),
                 help="Show tracebacks and details."),
)

_Command = TypeVar("_Command", bound=Callable[..., Any])


def shared_options(command: _Command) -> _Command:
    """--history, -q and -v accepted after the command as well as before it; every command carries them."""
    for option in reversed(_SHARED):
        command = option(command)
    return command


_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """NaN and infinity pass a range check (every comparison with NaN is false); no plan is made for them."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _iso(ctx: click.Context, param: click.Parameter, value: Any) -> str | None:
    return value.date().isoformat() if value is not None else None


def as_of_option(help: str = "Cut data dated after this day (YYYY-MM-DD).") -> Callable[[_Command], _Command]:
    """--as-of DATE, given to the command as YYYY-MM-DD text or None."""
    return click.option("--as-of", type=_DATE, callback=_iso, help=help)




@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
@shared_options
def init(ctx: click.Context, directory: Path) -> None:
    """Create an empty history store in DIRECTORY.

    \b
    Example:
      welfare-report init history
    """
    from .store import init_store

    init_store(directory)
    _tell(ctx, f"created an empty history in {directory}")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--observations", "-n", type=click.IntRange(min=1000), default=20_000, show_default=True,
              help="About how many answers to generate.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the random generator.")
@click.option("--extra-generations", type=click.IntRange(min=0, max=200), default=0, show_default=True,
              help="Quiet generations added after the planted ones (for benchmarks at scale).")
@click.option("--extra-metrics", type=click.IntRange(min=0, max=100), default=0, show_default=True,
              help="Quiet 1-7 metrics added beside the planted ones (for benchmarks at scale).")
@click.pass_context
@shared_options
def example(ctx: click.Context, directory: Path, observations: int, seed: int, extra_generations: int, extra_metrics: int) -> None:
    """Write a synthetic history of a fictional model line into DIRECTORY.

    Every phenomenon the rules look for is planted in it, between long
    stretches where nothing should be flagged. All labels say 'synthetic'.

    \b
    Example:
      welfare-report example demo-history --observations 100000 --seed 1
    """
    from .example import write_example

    rows = write_example(directory, observations, seed, extra_generations, extra_metrics)
    _tell(ctx, f"wrote a synthetic history of {rows:,} answers to {directory}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=KIND_CHOICE,
              help="Read every file as this kind instead of telling it by its columns.")
@click.pass_context
@shared_options
def validate(ctx: click.Context, files: tuple[Path, ...], kind: str | None) -> None:
    """Check input files; every problem is printed as file:line: column: message.

    Generations and metrics are looked up in the history (when it exists) and
    in the files given together.

    \b
    Example:
      welfare-report validate generations.csv answers.csv
    """
    from .errors import ValidationError
    from .inputs import validate_files
    from .store import registries_of

    problems = validate_files(list(files), kind, registries_of(_options(ctx).history))
    if problems:
        raise ValidationError(problems)
    _say(ctx, f"{phrasing.count(len(files), 'file')} valid")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=KIND_CHOICE,
              help="Read every file as this kind instead of telling it by its columns.")
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
@click.pass_context
@shared_options
def merge(ctx: click.Context, files: tuple[Path, ...], kind: str | None, dry_run: bool) -> None:
    """Validate FILES and merge them into the history, all or nothing.

    Rows already present are skipped; a row whose key is present with other
    content is a conflict, and then nothing is written. A history changed
    outside merge is refused. With no FILES, complete or discard an
    interrupted merge, and anchor a history made before the merge log was a
    hash chain.

    \b
    Example:
      welfare-report merge generations.csv answers-2026-q3.csv --dry-run
      welfare-report merge            # settle an interrupted merge
    """
    from .api import WelfareHistory

    result = WelfareHistory(_store(ctx)).merge(*files, kind=kind, dry_run=dry_run, progress=_progress(ctx))
    settled = {
        "completed": "completed an interrupted merge",
        "discarded": "discarded an interrupted merge that had not reached its commit point",
        "anchored": "anchored the merge log as a hash chain",
    }
    lines = [settled[result.settled]] if result.settled in settled else []
    if result.head is not None:
        lines.append(f"chain head {result.head} (publish it, so that a rewritten history shows)")
    verb = "would add" if dry_run else "added"
    kinds = sorted(set(result.added) | set(result.skipped))
    lines += [f"{k}: {verb} {result.added.get(k, 0)}, skipped {result.skipped.get(k, 0)}"
              + (f" ({result.withheld[k]} withheld by a correction)" if result.withheld.get(k) else "") for k in kinds]
    _say(ctx, "\n".join(lines) if lines else ("nothing to merge" if files else "nothing to settle"))


@cli.command()
@click.argument("report_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--expect-head", metavar="SHA256",
              help="The chain head published elsewhere (in a card); it must be a head of this history's merge log.")
@click.option("--allowed-signers", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An SSH allowed-signers file; REPORT_DIR's manifest.json.sig must be signed by a key in it.")
@click.option("--data-only", is_flag=True,
              help="Check REPORT_DIR's chain head and data digests alone, not its outputs.")
@click.pass_context
@shared_options
def verify(ctx: click.Context, report_dir: Path | None, expect_head: str | None, allowed_signers: Path | None,
           data_only: bool) -> None:
    """Check every history file against the manifest and the merge log's hash chain.

    With REPORT_DIR, also recompute the digests of the rows that report used
    (dated on or before its as-of date) and its findings, render it again
    and name every difference: every file of the folder must be an output
    that matched. Exit 1 on any mismatch, and when the outputs could not be
    checked (another version made them; --data-only checks the data alone).
    Changes no byte, so it also works on a read-only history.

    \b
    Example:
      welfare-report verify --expect-head 3f1c...e9
      welfare-report verify reports/2026-Q3
      welfare-report verify reports/2025-Q1 --data-only
    """
    from .audit import audit

    store = _store(ctx)
    found = audit(store, report_dir, expect_head, allowed_signers, data_only)
    problems, remarks = found.problems, found.remarks
    for problem in problems:
        _emit(shown(problem))
    for remark in remarks:
        _say(ctx, f"note: {remark}")
    if problems:
        ctx.exit(EXIT_FLAGGED)
    # No problem means the log is an anchored chain: an unchained one is a problem of its own.
    matched = (f"; the data of the report in {report_dir} matches it (its outputs were not checked)" if data_only
               else f"; the report in {report_dir} matches it")
    _say(ctx, f"verified the history in {store.root}" + (matched if report_dir is not None else "")
              + f"\nchain head {found.head}")


@cli.command()
@click.argument("old", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Write the differences as JSON (welfare-report/diff/1).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="markdown: a section to paste into an audit note.")
@click.pass_context
@shared_options
def diff(ctx: click.Context, old: Path, new: Path, as_json: bool, fmt: str) -> None:
    """Say what changed between two report folders OLD and NEW.

    Reads each folder's findings.json, once the folder's manifest.json (a
    quarterly folder has one) vouches for every file. Lists, in order: a
    history rewritten after a report or grown between them (only with
    --history named), rule set, tool version and options, generations and
    metrics added or removed, figures that moved (with new corrections and
    rows), verdicts that changed, flags opened, closed and acknowledged, and
    acknowledgements that now match nothing. Exit 0 when nothing differs,
    1 when something does.

    \b
    Example:
      welfare-report diff reports/2026-Q2 reports/2026-Q3 --history history
      welfare-report diff old-build build --format markdown >> audit-note.md
    """
    from .audit import diff_folders
    from .diff import dumps, markdown, text

    if as_json and fmt != "text":
        raise click.UsageError("--json and --format markdown are two ways to write it: choose one")
    options = _options(ctx)
    found = diff_folders(old, new, options.history if options.history_given else None)
    output = dumps(found) if as_json else markdown(found) if fmt == "markdown" else text(found)
    if output:
        _emit(output.rstrip("\n"))
    ctx.exit(EXIT_FLAGGED if found["differs"] else 0)


@cli.command()
@as_of_option("Cut answers, events and generations dated after this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings JSON instead of a summary.")
@click.option("--acknowledgements-template", "template", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the open flags as an acknowledgements CSV to fill in (reason, by, date) and merge.")
@click.pass_context
@shared_options
def check(ctx: click.Context, as_of: str | None, as_json: bool, template: Path | None) -> None:
    """Analyse the history and apply the fixed rule set.

    Exit 0 when nothing is flagged, 1 when a flag is open (acknowledged flags
    and notes do not count), 2 on an error.

    \b
    Example:
      welfare-report check --as-of 2026-06-30
      welfare-report check --json > findings.json
    """
    from .api import WelfareHistory
    from .check_text import check_summary
    from .findings import dumps

    _progress(ctx)("analysing the history")
    findings = WelfareHistory(_store(ctx)).findings(as_of, excerpts=False)
    _emit(dumps(findings) if as_json else shown_lines(check_summary(findings)), nl=not as_json)
    if template is not None:
        from .check_text import acknowledgements_template
        from .store.files import write_atomic

        write_atomic(template, acknowledgements_template(findings))
        _tell(ctx, f"wrote {template} with {phrasing.count(len(findings.open_flags()), 'open flag')} to review")
    if findings.errors():
        ctx.exit(EXIT_ERROR)
    if findings.open_flags():
        ctx.exit(EXIT_FLAGGED)


@cli.command()
@click.option("--metric", help="Only this metric.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@as_of_option()
@click.pass_context
@shared_options
def trend(ctx: click.Context, metric: str | None, fmt: str, as_of: str | None) -> None:
    """Per generation statistics and the comparison with each predecessor.

    \b
    Example:
      welfare-report trend --metric circumstances --format csv > circumstances.csv
    """
    from .api import WelfareHistory
    from .trend import to_csv, to_json, to_table

    rows = WelfareHistory(_store(ctx)).trend_rows(metric, as_of)
    if fmt == "csv":
        _emit(to_csv(rows), nl=False)
    elif fmt == "json":
        _emit(to_json(rows), nl=False)
    else:
        from rich.console import Console

        # At most 100 columns: the table is built to fit one terminal line per row. In a narrower
        # terminal the table keeps the width its figures need, and the terminal wraps the line:
        # a figure or verdict is never cut.
        table = to_table(rows)
        width = min(100, shutil.get_terminal_size((100, 24)).columns)
        # Its width with nothing squeezed: where the terminal is narrower, the table keeps it.
        natural = Console(width=1000, record=True, file=io.StringIO())
        natural.print(table)
        needed = max(len(line.rstrip()) for line in natural.export_text().splitlines() if not line.startswith("*"))
        Console(width=max(width, needed)).print(table)


@cli.command()
@click.option("--metric", help="Only this metric.")
@click.option("--change", type=click.FloatRange(min=0, min_open=True), callback=_finite,
              help="The change to see, in scale points (default: 0.1 of the scale range).")
@click.option("--sd", type=click.FloatRange(min=0, min_open=True), callback=_finite, help="The spread to plan with instead of the observed one.")
@as_of_option("Take the observed spread from data dated on or before this day.")
@click.pass_context
@shared_options
def plan(ctx: click.Context, metric: str | None, change: float | None, sd: float | None, as_of: str | None) -> None:
    """Answers needed per generation to see a change, and to call a metric stable.

    For each metric: the answers per generation that give an 80% chance of a
    'changed' verdict at a true change of --change points, and of a 'stable'
    verdict when nothing changed, from the metric's observed spread (or --sd)
    and the number of metrics tested together.

    \b
    Example:
      welfare-report plan --metric circumstances --change 0.5
    """
    from .pipeline import analysis_from_path
    from .sample_size import sample_size_text, sample_sizes, without_spread

    analysis = analysis_from_path(_options(ctx).history, as_of)
    if metric is not None and metric not in analysis.history.metrics:
        raise ReporterError(f"unknown metric {metric!r}; the history has {', '.join(analysis.history.metrics) or 'none'}")
    plans = sample_sizes(analysis, metric, change, sd)
    # One metric without answers does not stop the plan of the others; it is named.
    lacking = without_spread(analysis, metric, sd)
    if not plans:
        raise ReporterError(f"no metric has answers to take a spread from ({', '.join(lacking)}); give one with --sd")
    tail = f"\n\nNot planned, no answers to take a spread from (give one with --sd): {', '.join(lacking)}" if lacking else ""
    _emit(sample_size_text(plans) + tail)


@cli.command()
@click.option("--format", "formats", multiple=True,
              type=click.Choice(list(FORMATS)),
              help="An output to write; repeat for several (default: html, fragment, pdf and json).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build"), show_default=True,
              help="Folder for the outputs.")
@as_of_option()
@click.option("--notes", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The author's notes (Markdown, raw HTML disabled), shown in their own section.")
@click.option("--title", default="Model welfare", show_default=True, help="The section's title.")
@click.option("--heading-level", type=click.IntRange(1, 4), default=2, show_default=True,
              help="The heading level of the fragment's title, to sit under the card's own headings.")
@click.option("--id-prefix", default="wr-", show_default=True,
              help="Prefix of every id in the outputs, so two fragments can share a page.")
@click.option("--section-number", help="The card's number for this section: 7 numbers figures 'Figure 7.1'.")
@click.pass_context
@shared_options
def render(ctx: click.Context, formats: tuple[str, ...], out: Path, as_of: str | None, notes: Path | None, title: str,
           heading_level: int, id_prefix: str, section_number: str | None) -> None:
    """Render the welfare section: welfare-section.html, welfare-section.fragment.html,
    welfare-section.pdf and findings.json.

    Notes that use target, optimisation or ranking language are refused
    (WR001) and nothing is written.

    \b
    Example:
      welfare-report render --out build --notes notes.md --title "Model welfare"
      welfare-report render --format html --format json --as-of 2026-06-30
    """
    from .drawing import chart_workers
    from .formats import chart_images, wanted

    drawing = bool(chart_images(wanted(formats)))
    # The chart helper starts before anything else is imported or read: it loads the plotting
    # libraries while this process loads its own and analyses the history.
    with chart_workers() if drawing else contextlib.nullcontext():
        from .api import WelfareHistory
        from .api import render as render_section
        from .rendering import ID_PREFIX_PATTERN, SECTION_NUMBER_PATTERN

        if not ID_PREFIX_PATTERN.match(id_prefix):
            raise click.BadParameter("a letter, then up to 31 letters, digits, '-' or '_'", param_hint="'--id-prefix'")
        if section_number is not None and not SECTION_NUMBER_PATTERN.match(section_number):
            raise click.BadParameter("a number such as 7 or 7.2", param_hint="'--section-number'")
        show = _progress(ctx)
        history = WelfareHistory(_store(ctx))
        if notes is not None:
            # Notes refused by the lint are refused before the history is read.
            from .notes import read_notes

            read_notes(notes)
        show("analysing the history")
        findings = history.findings(as_of)
        written = render_section(findings, out, formats, title=title, notes=notes, progress=show,
                                 heading_level=heading_level, id_prefix=id_prefix, section_number=section_number)
    for path in written:
        _tell(ctx, f"wrote {path}")


@cli.command("from-inspect")
@click.argument("logs", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The observations file to write (CSV), for validate and merge.")
@click.option("--generation", help="The generation every log's answers belong to.")
@click.option("--generation-map", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A CSV of model,generation: each log's evaluated model to its generation.")
@click.option("--metric", help="The metric of samples whose metadata names none.")
@click.option("--scorer", help="The scorer whose value is the score, when a log has several.")
@click.option("--skip-failed", is_flag=True, help="Leave out failed and unscored samples, and logs that did not finish.")
@click.pass_context
@shared_options
def from_inspect(ctx: click.Context, logs: tuple[Path, ...], out: Path, generation: str | None,
                 generation_map: Path | None, metric: str | None, scorer: str | None, skip_failed: bool) -> None:
    """Turn Inspect AI evaluation logs (.eval or .json) into an observations file.

    Read with inspect_ai's own read_eval_log, an optional extra:

    \b
      pip install 'welfare-report[inspect]'

    The file then goes through validate and merge like any other; the store
    is not touched. A failed log or sample, a
    missing or non-numeric score and an unmapped model stop the import with
    the log and sample named, and nothing is written.

    \b
    Example:
      welfare-report from-inspect logs/*.eval --out answers.csv --generation-map models.csv
      welfare-report merge answers.csv
    """
    from .inspect_import import Options, counted, import_logs, read_generation_map, summary_lines
    from .store.files import write_atomic

    options = Options(generation=generation, metric=metric, scorer=scorer, skip_failed=skip_failed,
                      generation_map=read_generation_map(generation_map) if generation_map else {})
    imported = import_logs(logs, options)
    if not imported.rows:
        # A header-only file would be refused by merge; say so now, and write nothing.
        left = ", ".join(counted(n, reason) for reason, n in sorted(imported.skipped.items()))
        raise ReporterError(f"no answer was left to write{f' (left out: {left})' if left else ''}; nothing written")
    write_atomic(out, imported.csv_bytes())
    for line in summary_lines(imported, out):
        _tell(ctx, line)


@cli.command()
@click.argument("quarter", required=False)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Folder that holds one folder per quarter.")
@click.option("--today", type=_DATE, help="Take this day as today (UTC), for back-fills and tests.")
@click.option("--force", is_flag=True, help="Replace an existing, different report for the quarter.")
@click.option("--sign-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="An SSH private key; signs manifest.json into manifest.json.sig (namespace welfare-report).")
@click.pass_context
@shared_options
def quarterly(ctx: click.Context, quarter: str | None, out: Path, today: Any, force: bool, sign_key: Path | None) -> None:
    """Write the report as of a quarter's last day into OUT/YYYY-QN/.

    Without QUARTER, the last completed quarter (UTC). The four render
    outputs plus manifest.json; the section says what changed since the
    previous quarter. Run twice, it writes identical bytes; a different
    existing report is only replaced with --force. Messages go to stderr.

    \b
    Example:
      welfare-report quarterly 2026-Q2 --out reports
      welfare-report quarterly            # from cron: the last completed quarter
    """
    import datetime as dt

    from .drawing import chart_workers
    from .quarterly import quarterly as run_quarterly

    day = today.date() if today is not None else dt.datetime.now(dt.UTC).date()
    with chart_workers():
        result = run_quarterly(_options(ctx).history, quarter, out, day, force, progress=_progress(ctx),
                               today_option=today.date().isoformat() if today is not None else None, sign_key=sign_key)
    _tell(ctx, f"{result.quarter}: {result.status} {result.directory}")


def main(argv: list[str] | None = None) -> None:
    """The console entry point; `argv` instead of sys.argv for tests."""
    if sys.platform == "linux" and "pyarrow" not in sys.modules:
        # The command owns its process, so it picks Arrow's allocator: a merge builds and drops one
        # generation's answers at a time, and jemalloc hands the freed pages back where Arrow's
        # default keeps them (merging a 1M-answer file: 605 MB peak instead of 771 MB).
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    cli.main(args=argv, prog_name="welfare-report", obj=_OWNS_PROCESS)


if __name__ == "__main__":  # pragma: no cover
    main()
