"""The data contract: every file kind, column, type, allowed value and key.

Everything that names a column or a constant of the input files lives here, so
the loader, the store, the analysis and the report speak one vocabulary.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

# Ids become file names (observations/<generation>.csv), so they are kept to a
# portable alphabet that cannot climb out of the store.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
ID_MAX_LENGTH = 64
# A larger field is almost always a broken quote swallowing the rest of a file.
FIELD_MAX_BYTES = 64 * 1024
# Limits checked before a file is parsed in full, so a small hostile file
# cannot exhaust the machine: every one is refused with its file:line.
MAX_COLUMNS = 64
MAX_LINE_BYTES = 1 << 20
MAX_PARQUET_ROWS = 10_000_000  # larger: split it, or aggregate it into counts
MAX_PARQUET_BYTES = 2 << 30  # uncompressed, from the file's metadata
# An answer carries a handful of tags; thousands would only blow up the report.
MAX_TAGS = 32
# Every statistic allocates a cell per scale point.
MAX_SCALE_POINTS = 101
# Validation lists this many problems and then counts the rest.
MAX_PROBLEMS_SHOWN = 100
# Reading a file stops after this many problems: a file refused row by row is never read whole.
MAX_PROBLEMS_READ = 10_000

# What a metric measures: a self-report is a rating the model gives; a probe reads its
# internals; a behaviour is what it does. Only self-reports are rated on integer points.
MEASURES = ("self_report", "probe", "behaviour")
DIRECTIONS = ("same", "opposite")
METHODS = ("automated_interview", "manual_interview", "survey", "other")
FRAMINGS = ("neutral", "positive_lead", "negative_lead")
EVENT_KINDS = (
    "training_change",
    "system_prompt_change",
    "elicitation_change",
    "metric_exposure",
    "release",
    "deprecation",
    "other",
)
# What a correction does to the rows it names: take them out of the analysis, let
# rows of the same merge take their place, or blank their excerpt and keep the score.
CORRECTION_ACTIONS = ("retract", "replace", "redact")
# A correction's key that names every row one input file added.
WHOLE_FILE_SUFFIX = ":*"
CONCERN_TAGS = ("anxiety", "distress", "frustration", "paranoia", "boredom", "positive_report_worry")
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
RULE_ID_PATTERN = re.compile(r"WR\d{3}\Z")

# WR001: a column that names a target turns self-reports into something to
# push up; such a file is refused outright.
TARGET_COLUMN_PREFIXES = ("target", "goal", "threshold", "objective", "kpi")


class ValueProblem(ValueError):
    """A single cell that does not fit its column."""


# What the answers say: text is compared as words, whatever its case, compatibility forms or punctuation.
_NOT_WORD = re.compile(r"[\W_]+")
PHRASE_WORDS = (4, 40)  # fewer words match by chance; more are a document, not a phrase


def normalised_words(text: str) -> list[str]:
    """NFKC, case-folded, every character that is not a letter or a digit read as a space, split."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split()


# C0 controls but TAB and LF, DEL, C1 controls, and the bidirectional
# overrides and isolates that can make text read in another order than it is stored.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _lines(value: str) -> str:
    """CR and CRLF become LF: a lone CR would split a stored row for some CSV readers."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def escape_unsafe(text: str) -> str:
    """Every unsafe character as visible text (U+0007 becomes '\\u0007')."""
    return UNSAFE_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _text(value: str) -> str:
    """Free text (excerpts, descriptions, notes, reasons): unsafe characters are stored escaped."""
    return escape_unsafe(_lines(value))


def _label(value: str) -> str:
    """Names and labels a reader takes at face value: unsafe characters are refused."""
    value = _lines(value)
    found = UNSAFE_CHARACTERS.search(value)
    if found:
        raise ValueProblem(f"control or bidirectional-override character U+{ord(found.group()):04X} is not allowed here")
    return value


def _id(value: str) -> str:
    value = value.strip()
    if len(value) > ID_MAX_LENGTH:
        raise ValueProblem(f"id longer than {ID_MAX_LENGTH} characters")
    if not ID_PATTERN.match(value):
        raise ValueProblem(
            f"{value!r} is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit)"
        )
    return value


def _ids(value: str) -> str:
    parts = [p.strip() for p in value.split(";") if p.strip()]
    if not parts:
        raise ValueProblem("needs at least one generation")
    return ";".join(sorted({_id(p) for p in parts}))


def _date(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueProblem(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueProblem(f"{value!r} is not a calendar date") from None
    return value


def _int(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise ValueProblem(f"{value!r} is not a whole number")
    return str(int(value))


def _count(value: str) -> str:
    text = _int(value)
    if int(text) < 1:
        raise ValueProblem(f"{value!r} must be at least 1")
    return text


def _float(value: str) -> str:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        raise ValueProblem(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueProblem(f"{value!r} is not a finite number")
    return format_number(number)


def _nonnegative(value: str) -> str:
    text = _float(value)
    if float(text) < 0:
        raise ValueProblem(f"{value!r} must not be negative")
    return text


def _rate(value: str) -> str:
    text = _float(value)
    if not 0 <= float(text) <= 1:
        raise ValueProblem(f"{value!r} is not a rate between 0 and 1")
    return text


def _bool(value: str) -> str:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return "true"
    if word in FALSE_WORDS:
        return "false"
    raise ValueProblem(f"{value!r} is not a boolean (true/false, 1/0, yes/no)")


def _tags(value: str) -> str:
    tags = sorted({t.strip().lower() for t in value.split(";") if t.strip()})
    if len(tags) > MAX_TAGS:
        raise ValueProblem(f"{len(tags)} tags; at most {MAX_TAGS} per answer")
    for tag in tags:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", tag):
            raise ValueProblem(f"{tag!r} is not a tag (lower-case letters, digits, '_' and '-')")
    return ";".join(tags)


def _rule(value: str) -> str:
    value = value.strip().upper()
    if not RULE_ID_PATTERN.match(value):
        raise ValueProblem(f"{value!r} is not a rule id such as WR002")
    if value == "WR001":
        raise ValueProblem("WR001 cannot be acknowledged: scores are never targets")
    return value


def _phrase(value: str) -> str:
    """A phrase of the developer's own words, kept as written: 4 to 40 words once normalised."""
    value = _label(value).strip()
    words = len(normalised_words(value))
    low, high = PHRASE_WORDS
    if not low <= words <= high:
        raise ValueProblem(f"a phrase has {low} to {high} words once normalised; this one has {words}")
    return value


def _choice(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        word = value.strip().lower()
        if word not in allowed:
            raise ValueProblem(f"{value!r} is not one of {', '.join(allowed)}")
        return word

    return parse


def format_number(number: float) -> str:
    """Canonical text of a number: integers without a point, else repr."""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


@dataclass(frozen=True)
class Column:
    """A column of an input kind: its name, type and whether it is required."""

    name: str
    parse: Callable[[str], str]
    default: str = ""


@dataclass(frozen=True)
class Kind:
    """One kind of input file and of store file."""

    name: str
    required: tuple[Column, ...]
    optional: tuple[Column, ...]
    key: tuple[str, ...]
    # Columns that only the store has (observations keep a derived key).
    stored_extra: tuple[str, ...] = ()
    # Columns a store written by an earlier version lacks; they read as empty.
    added_later: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.required + self.optional

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.required)

    @property
    def store_names(self) -> tuple[str, ...]:
        return self.names + self.stored_extra


GENERATIONS = Kind(
    "generations",
    required=(Column("generation", _id), Column("release_date", _date)),
    optional=(
        Column("model", _label),
        Column("predecessor", _id),
        Column("label", _label),
        Column("notes", _text),
    ),
    key=("generation",),
)
METRICS = Kind(
    "metrics",
    required=(Column("metric", _id), Column("scale_min", _int), Column("scale_max", _int)),
    optional=(
        Column("label", _label),
        Column("question", _text),
        Column("description", _text),
        Column("measure", _choice(MEASURES), "self_report"),
        Column("corroborates", _id),
        Column("direction", _choice(DIRECTIONS)),
    ),
    key=("metric",),
    added_later=("measure", "corroborates", "direction"),
)
EVENTS = Kind(
    "events",
    required=(
        Column("date", _date),
        Column("kind", _choice(EVENT_KINDS)),
        Column("description", _text),
    ),
    optional=(Column("generation", _id), Column("metric", _id), Column("reference", _text)),
    key=("date", "kind", "generation", "metric", "description"),
)
ACKNOWLEDGEMENTS = Kind(
    "acknowledgements",
    required=(
        Column("rule", _rule),
        Column("generations", _ids),
        Column("reason", _text),
        Column("by", _label),
        Column("date", _date),
    ),
    optional=(Column("metric", _id),),
    key=("rule", "metric", "generations"),
)
# How an answer was asked and what became of it: shared by rows and counts of answers.
ASKED = (
    Column("framing", _choice(FRAMINGS), "neutral"),
    Column("topic", _label),
    Column("prompt_variant", _label),
    Column("system_prompt", _label),
    Column("redirected", _bool, "false"),
    Column("declined", _bool, "false"),
)
OBSERVATIONS = Kind(
    "observations",
    required=(
        Column("generation", _id),
        Column("metric", _id),
        Column("collected_on", _date),
        # A number: self-report scores must be whole (checked against the metric), and 5.0 is 5.
        Column("score", _float),
    ),
    optional=(
        Column("response_id", _label),
        Column("interview_id", _label),
        Column("method", _choice(METHODS), "automated_interview"),
        Column("instrument", _label),
        *ASKED,
        Column("tags", _tags),
        Column("excerpt", _text),
        # The author's pick for the report's qualitative evidence: shown before excerpts chosen by key order.
        Column("featured", _bool, "false"),
        Column("source", _label),
    ),
    key=("generation", "metric", "key"),
    stored_extra=("key",),
    added_later=("interview_id", "instrument", "featured"),
)
SUMMARIES = Kind(
    "summaries",
    required=(
        Column("generation", _id),
        Column("metric", _id),
        Column("collected_on", _date),
        Column("mean", _float),
        Column("n", _count),
    ),
    optional=(
        Column("sd", _nonnegative),
        Column("ci_low", _float),
        Column("ci_high", _float),
        Column("redirect_rate", _rate),
        Column("method", _choice(METHODS), "automated_interview"),
        Column("source", _label),
        # The date of the document the figure was taken from: of several summaries, the latest published is used.
        Column("published_on", _date),
        # How many interviews the n answers came from: fewer than n, and the answers are not independent.
        Column("interviews", _count),
    ),
    key=("generation", "metric", "collected_on", "method", "source"),
    added_later=("published_on", "interviews"),
)

COUNTS = Kind(
    "counts",
    required=(
        Column("generation", _id),
        Column("metric", _id),
        Column("collected_on", _date),
        Column("score", _float),
        Column("count", _count),
    ),
    optional=(
        Column("method", _choice(METHODS), "automated_interview"),
        *ASKED,
        Column("source", _label),
    ),
    # Every column but the count: the same combination twice is one row.
    key=("generation", "metric", "collected_on", "score", "method", "framing", "topic", "prompt_variant",
         "system_prompt", "redirected", "declined", "source"),
    # `<file SHA-256>:<line>` of the merge that first brought the row: what a correction names it by.
    stored_extra=("key",),
    added_later=("key",),
)
CORRECTIONS = Kind(
    "corrections",
    required=(
        Column("generation", _id),
        Column("metric", _id),
        Column("key", _label),
        Column("action", _choice(CORRECTION_ACTIONS)),
        Column("reason", _text),
        Column("by", _label),
        Column("date", _date),
    ),
    optional=(),
    key=("generation", "metric", "key", "action"),
    # One store line per row a correction touched: the row it superseded (or, for a
    # replacement, the row that took its place) in the store's canonical CSV, and its SHA-256.
    stored_extra=("role", "row_key", "row_sha256", "row"),
)
PHRASES = Kind(
    "phrases",
    required=(Column("source", _id), Column("phrase", _phrase)),
    optional=(Column("description", _text),),
    key=("source", "phrase"),
)

# Registries first: rows that refer to a generation or metric are checked
# against them within one call.
KINDS: dict[str, Kind] = {
    k.name: k for k in (GENERATIONS, METRICS, EVENTS, ACKNOWLEDGEMENTS, OBSERVATIONS, SUMMARIES, COUNTS, CORRECTIONS,
                        PHRASES)
}
REGISTRY_KINDS = ("generations", "metrics")

# Store files that hold one kind each; observations live one file per generation.
STORE_FILES = {
    "generations": "generations.csv",
    "metrics": "metrics.csv",
    "events": "events.csv",
    "summaries": "summaries.csv",
    "acknowledgements": "acknowledgements.csv",
    "corrections": "corrections.csv",
    "counts": "counts.csv",
    "phrases": "phrases.csv",
}
OBSERVATIONS_DIR = "observations"
MANIFEST = "manifest.json"


def kind_of_store_file(name: str) -> Kind:
    """The kind a store file holds, by its path inside the store."""
    if name.startswith(OBSERVATIONS_DIR + "/"):
        return OBSERVATIONS
    return next(KINDS[kind] for kind, file_name in STORE_FILES.items() if file_name == name)


def store_file_of(kind: Kind, row: dict[str, str]) -> str:
    """The store file a valid row of `kind` belongs in."""
    if kind is OBSERVATIONS:
        return f"{OBSERVATIONS_DIR}/{row['generation']}.csv"
    return STORE_FILES[kind.name]


def observation_key(row: dict[str, str]) -> str:
    """The id a correction names a row of answers by: its response_id, else `<file SHA-256>:<line>`."""
    return row.get("response_id") or row.get("key", "")


def row_key(kind: Kind, row: dict[str, str]) -> tuple[str, ...]:
    """The key of a row of a kind, as the store compares rows."""
    if kind is OBSERVATIONS:
        return (row["generation"], row["metric"], observation_key(row))
    if kind is PHRASES:  # the same words within a source are one phrase, however cased or punctuated
        return (row["source"], " ".join(normalised_words(row["phrase"])))
    return tuple(row[name] for name in kind.key)


def sort_key(kind: Kind) -> Callable[[dict[str, str]], tuple[str, ...]]:
    """Canonical row order of a store file, for stable diffs."""
    if kind is OBSERVATIONS:
        return lambda r: (r["metric"], r["collected_on"], observation_key(r))
    if kind is GENERATIONS:
        return lambda r: (r["release_date"], r["generation"])
    if kind is CORRECTIONS:  # one line per row a correction touched
        return lambda r: (*row_key(kind, r), r["role"], r["row_key"])
    return lambda r: row_key(kind, r)


@dataclass(frozen=True)
class Unreadable:
    """A Parquet value Python cannot hold (a date out of range): a problem at its row and column."""

    reason: str


def type_cell(kind: Kind, column: Column, value: object) -> str:
    """One cell of an input row as canonical text, or a ValueProblem; cross-column checks come after."""
    if isinstance(value, Unreadable):
        raise ValueProblem(value.reason)
    if not isinstance(value, str):
        raise ValueProblem(f"unsupported value {value!r}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueProblem("not valid Unicode text (a lone surrogate)") from None
    if size > FIELD_MAX_BYTES:
        raise ValueProblem("field longer than 64 KiB")
    if value.strip():
        return column.parse(value)
    # An empty score is checked across columns: it is allowed when declined.
    if column in kind.required and not (kind in (OBSERVATIONS, COUNTS) and column.name == "score"):
        raise ValueProblem("required value is empty")
    return column.default


def measure_of(metric: dict[str, str]) -> str:
    """A metric row's measure; rows of a store made before measures existed are self-reports."""
    return metric.get("measure") or "self_report"


def target_column(name: str) -> bool:
    """WR001: does a column name announce a target?"""
    return name.lower().startswith(TARGET_COLUMN_PREFIXES)


def detect_kind(header: list[str]) -> Kind | None:
    """The kind whose required columns are present and whose columns cover the header."""
    present = set(header)
    for kind in KINDS.values():
        if set(kind.required_names) <= present and present <= set(kind.names):
            return kind
    return None


def closest_kind(header: list[str]) -> Kind:
    """The kind a header was most likely meant to be, for error messages."""
    present = set(header)

    def score(kind: Kind) -> tuple[int, int]:
        return (len(present & set(kind.required_names)), len(present & set(kind.names)))

    return max(KINDS.values(), key=score)


# -- closed sets and column groups of the analysis ---------------------------------------

Source = Literal["observations", "counts", "summaries"]
SplitKind = Literal["system_prompt", "event"]
Verdict = Literal["changed", "stable", "inconclusive"]
Severity = Literal["error", "flag", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "flag", "note")
# The fixed rule set's ids, in the order the rules run; `rules.RULES` follows it (tested), and an
# acknowledgement is checked against it without importing the analysis.
RULE_IDS = tuple(f"WR{n:03d}" for n in range(1, 19))

# The ways of asking each statistic records as pooled (`elicitation`).
ELICITATION_COLUMNS = ("method", "instrument", "framing", "topic", "system_prompt")
# The ways of asking whose mix WR008 compares between the two sides of a comparison.
MIX_COLUMNS = ("method", "instrument", "system_prompt")
# Columns whose values' means are compared inside one generation (WR007, WR012):
# framing over every answer, the others over neutral answers.
VARIATION_COLUMNS = ("prompt_variant", "framing", "method", "topic", "system_prompt")
# What the methods table counts per generation, in its column order.
METHOD_COLUMNS = ("method", "framing", "topic", "prompt_variant", "system_prompt", "instrument")

# -- names of the outputs ----------------------------------------------------------------

MARKDOWN_NAME = "welfare-section.md"
MARKDOWN_CHARTS = "welfare-section-charts"  # the Markdown's SVG charts, beside it
CHARTS_FOLDER = "charts"  # --format charts: every figure as SVG, PNG and CSV
# A report folder keeps the notes it was rendered with, so `verify` can render it again.
NOTES_COPY = "welfare-section.notes.md"
