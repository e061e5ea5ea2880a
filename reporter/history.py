"""The history read for analysis: registries as dataclasses, answers as columns.

Answers are read with pyarrow's CSV reader and kept as numpy arrays of
integer codes, so the analysis groups a million answers with a few vectorised
passes and never touches a Python object per answer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import schema
from .errors import StoreError
from .store import Store
from .store.files import arrow_csv

EPOCH = dt.date(1970, 1, 1)
ANSWER_COLUMNS = (
    "generation", "metric", "collected_on", "score", "interview_id", "method", "instrument", "framing", "topic",
    "prompt_variant", "system_prompt", "redirected", "declined", "tags",
)
# Read only for a report: a unique id per answer is the costliest column to parse.
EXCERPT_COLUMNS = ("excerpt", "featured", "response_id", "key")
CODED = (
    "generation", "metric", "interview_id", "method", "instrument", "framing", "topic", "prompt_variant",
    "system_prompt", "tags",
)


def day_number(date: str) -> int:
    """A YYYY-MM-DD date as days since the epoch the analysis counts from."""
    return (dt.date.fromisoformat(date) - EPOCH).days


def day_text(day: int) -> str:
    """Days since the epoch back to YYYY-MM-DD."""
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


@dataclass(frozen=True)
class Generation:
    """A model generation from generations.csv."""

    name: str
    release_date: str
    model: str
    predecessor: str
    label: str
    notes: str


@dataclass(frozen=True)
class Metric:
    """A metric from metrics.csv: its scale, what it measures and what it corroborates."""

    name: str
    scale_min: int
    scale_max: int
    label: str
    question: str
    description: str
    measure: str = "self_report"  # self_report | probe | behaviour
    corroborates: str = ""  # the self-report metric a probe or behaviour metric speaks to
    direction: str = ""  # same (the default) or opposite: whether higher means what a higher self-report means

    @property
    def self_report(self) -> bool:
        """Rated on whole scale points; only these feed the point-based statistics and most rules."""
        return self.measure == "self_report"

    @property
    def opposite(self) -> bool:
        return self.direction == "opposite"

    @property
    def range(self) -> int:
        return self.scale_max - self.scale_min

    @property
    def points(self) -> np.ndarray:
        return np.arange(self.scale_min, self.scale_max + 1, dtype=float)


@dataclass(frozen=True)
class Event:
    """A recorded event: a training, system-prompt or elicitation change, an exposure, a release."""

    date: str
    kind: str
    description: str
    generation: str
    metric: str
    reference: str


@dataclass(frozen=True)
class Acknowledgement:
    """A person's review of a flag, with the reason it stays visible."""

    rule: str
    generations: tuple[str, ...]
    metric: str
    reason: str
    by: str
    date: str


@dataclass(frozen=True)
class Summary:
    """A published aggregate (mean, sd, n) for a generation and metric."""

    generation: str
    metric: str
    collected_on: str
    mean: float
    n: int
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    redirect_rate: float | None
    method: str
    source: str
    interviews: int | None = None  # the interviews the n answers came from, where published
    published_on: str = ""  # the date of the document the figure was taken from


@dataclass(frozen=True)
class CorrectedRow:
    """One row a correction touched: the row it superseded, or a row that took a replaced row's place."""

    role: str  # "superseded" | "replacement"
    generation: str
    metric: str
    collected_on: str
    score: float | None
    framing: str
    system_prompt: str
    count: int = 1  # the answers a counts row stands for; an answer is one


@dataclass(frozen=True)
class Correction:
    """A correction with the rows it retracted, replaced or redacted."""

    generation: str
    metric: str
    key: str
    action: str
    reason: str
    by: str
    date: str
    rows: tuple[CorrectedRow, ...]

    @property
    def touched(self) -> tuple[CorrectedRow, ...]:
        """The rows it named: retracted, replaced or redacted."""
        return tuple(r for r in self.rows if r.role == "superseded")

    @property
    def removed(self) -> tuple[CorrectedRow, ...]:
        """The rows it took out of the analysis (a redaction keeps its rows' scores)."""
        return tuple(r for r in self.rows if r.role == "superseded" and self.action != "redact")

    @property
    def replacements(self) -> tuple[CorrectedRow, ...]:
        return tuple(r for r in self.rows if r.role == "replacement")


@dataclass(frozen=True)
class Excerpt:
    """A quoted answer the report may show as qualitative evidence."""

    generation: str
    metric: str
    collected_on: str
    tags: tuple[str, ...]
    text: str
    key: str
    featured: bool = False
    method: str = "automated_interview"


@dataclass(frozen=True)
class AnswerText:
    """The text of an answer (its `excerpt`), for what the answers say (`texts`)."""

    generation: str
    metric: str
    collected_on: str
    interview_id: str
    text: str


@dataclass(frozen=True, eq=False)
class Answers:
    """One entry per answer; coded columns index into `categories[column]`."""

    codes: dict[str, np.ndarray]
    categories: dict[str, list[str]]
    day: np.ndarray
    score: np.ndarray  # float; NaN where declined
    redirected: np.ndarray
    declined: np.ndarray
    concern: np.ndarray
    # How many identical answers each entry stands for (a counts row stands for `count`); None: one each.
    weight: np.ndarray | None = None
    # Whether an entry came from counts.csv rather than from an observation row.
    counted: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.day)

    @property
    def weights(self) -> np.ndarray:
        return self.weight if self.weight is not None else np.ones(len(self.day), dtype=np.int64)

    @property
    def from_counts(self) -> np.ndarray:
        return self.counted if self.counted is not None else np.zeros(len(self.day), dtype=bool)

    def subset(self, keep: np.ndarray) -> Answers:
        return Answers(
            {k: v[keep] for k, v in self.codes.items()}, self.categories, self.day[keep], self.score[keep],
            self.redirected[keep], self.declined[keep], self.concern[keep],
            None if self.weight is None else self.weight[keep], None if self.counted is None else self.counted[keep],
        )

    def code(self, column: str, value: str) -> int:
        """The code of a value, or -1 when no answer has it."""
        try:
            return self.categories[column].index(value)
        except ValueError:
            return -1


@dataclass(frozen=True, eq=False)
class History:
    """The store read for analysis as of one date: registries, answers, summaries and corrections."""

    generations: list[Generation]
    metrics: dict[str, Metric]
    events: list[Event]
    acknowledgements: list[Acknowledgement]
    summaries: list[Summary]
    answers: Answers
    as_of: str
    # Every correction whose rows are dated on or before the as-of date, or that is itself:
    # a correction applies whatever its date, so a report must name it either way.
    corrections: list[Correction] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    # Per observation file: (rows, latest collection date), for the provenance of a report.
    observation_files: dict[str, tuple[int, str]] = field(default_factory=dict)
    # Answers that carry an excerpt, for the report's qualitative evidence.
    excerpts: list[Excerpt] = field(default_factory=list)
    # Every answer's text, and the developer's phrases (source, phrase) it may echo.
    texts: list[AnswerText] = field(default_factory=list)
    phrases: list[tuple[str, str]] = field(default_factory=list)

    def generation(self, name: str) -> Generation:
        return next(g for g in self.generations if g.name == name)


def _optional_float(text: str) -> float | None:
    return float(text) if text else None


def _answer_types() -> dict[str, Any]:
    """How the CSV reader types each column: an empty score is null (declined), the rest never is."""
    import pyarrow as pa

    return dict.fromkeys(ANSWER_COLUMNS + EXCERPT_COLUMNS, pa.string()) | dict.fromkeys(
        CODED, pa.dictionary(pa.int32(), pa.string())) | {
        "score": pa.float64(), "collected_on": pa.date32(), "redirected": pa.bool_(), "declined": pa.bool_(),
    }


def _observation_tables(store: Store, names: list[str], with_excerpts: bool,
                        ) -> tuple[list[Any], list[Excerpt], list[AnswerText]]:
    """Each observations file as a table of the answer columns, the answers' texts, and (when asked)
    the excerpts the report may quote.

    Texts and excerpts are taken file by file as it is read: the ids and quotes of every answer are
    never held at once (the unique `key` alone is 70 bytes an answer).
    """
    import pyarrow as pa

    columns = ANSWER_COLUMNS + (EXCERPT_COLUMNS if with_excerpts else ("excerpt",))
    tables, excerpts, texts = [], [], []
    for name in names:
        data = store.read_bytes(name)
        if data is None:
            raise StoreError(f"{name}: missing; run 'welfare-report verify'")
        try:
            table = _observation_table(data, _answer_types(), columns)
        except (pa.ArrowInvalid, pa.ArrowKeyError) as err:
            raise StoreError(f"{name}: not in the store's form ({err}); run 'welfare-report verify'") from None
        texts += _texts(table)
        if with_excerpts:
            excerpts += _excerpts(table)
        tables.append(table.select(list(ANSWER_COLUMNS)))
    return tables, excerpts, texts


def _read_answers(store: Store, with_excerpts: bool,
                  ) -> tuple[Answers, dict[str, tuple[int, str]], list[Excerpt], list[AnswerText]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    names = store.observation_files()
    tables, excerpts, texts = _observation_tables(store, names, with_excerpts)
    files = {
        name: (t.num_rows, str(pc.max(t["collected_on"]).as_py() or ""))
        for name, t in zip(names, tables, strict=True)
    }
    # Weights only where counts rows stand for several answers; without them every answer weighs one
    # (Answers.weights), and no array of ones is held beside the answers.
    weight = None
    counts_data = store.read_bytes(schema.STORE_FILES["counts"])
    if counts_data is not None and counts_data.count(b"\n") > 1:
        counted, count = _counts_table(counts_data, _answer_types(), ANSWER_COLUMNS)
        weight = np.concatenate([np.ones(sum(t.num_rows for t in tables), dtype=np.int64), count])
        tables.append(counted)
    from_counts = np.concatenate([np.full(t.num_rows, index >= len(names)) for index, t in enumerate(tables)]
                                 ) if tables else None
    if tables:
        table = pa.concat_tables(tables)
    else:
        types = _answer_types()
        table = pa.table({c: pa.array([], types[c]) for c in ANSWER_COLUMNS})
    tables.clear()
    return _answers_of(table, weight, from_counts), files, excerpts, texts


def _numbers(values: Any, kind: Any, dtype: Any) -> np.ndarray:
    """A column's values as a numpy array read from its buffer: Array.to_numpy and Python scalars make
    pyarrow import pandas, which alone costs more than reading a million answers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cast = pc.cast(values, kind)
    if isinstance(cast, pa.ChunkedArray):
        cast = cast.combine_chunks()
    assert not cast.null_count, "nulls are filled before"
    return np.frombuffer(cast.buffers()[1], dtype=dtype, count=len(cast), offset=cast.offset * np.dtype(dtype).itemsize)


def _answers_of(table: Any, weight: np.ndarray | None, from_counts: np.ndarray | None) -> Answers:
    """The answers as arrays. Each column is let go once it is converted: the answers are held once,
    as arrays, not once as a table beside them (tags stay for their concern marks)."""
    import pyarrow as pa

    def column_of(name: str) -> Any:
        nonlocal table
        values = table[name]
        if name != "tags":
            table = table.drop_columns([name])
        return values

    codes: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for column in CODED:
        # Each file's chunk has its own dictionary; one shared dictionary makes the codes comparable.
        # A column at a time, so the indices are copied for one column, not for all at once.
        encoded = pa.table({column: column_of(column)}).unify_dictionaries()[column].combine_chunks()
        codes[column] = _numbers(encoded.indices, pa.int32(), np.int32)
        categories[column] = encoded.dictionary.to_pylist()
    concern_pattern = "(^|;)(" + "|".join(schema.CONCERN_TAGS) + ")(;|$)"
    return Answers(
        codes=codes,
        categories=categories,
        day=_numbers(column_of("collected_on"), pa.int32(), np.int32),
        score=_scores(column_of("score"), _numbers),
        redirected=_numbers(column_of("redirected"), pa.uint8(), np.uint8).astype(bool),
        declined=_numbers(column_of("declined"), pa.uint8(), np.uint8).astype(bool),
        concern=_concern_codes(column_of("tags").combine_chunks(), concern_pattern, _numbers),
        weight=weight,
        counted=from_counts,
    )


def _texts(table: Any) -> list[AnswerText]:
    """The answers of one observations table that carry text, in its order."""
    import pyarrow.compute as pc

    # Only the five columns are filtered, by length: most answers carry no text.
    columns = table.select(["generation", "metric", "collected_on", "interview_id", "excerpt"])
    quoted = columns.filter(pc.cast(pc.binary_length(columns["excerpt"]), "bool"))
    # Column by column, as plain text: rows of dictionary-encoded values convert ten times slower.
    values = [pc.cast(quoted[name], "string").to_pylist() for name in quoted.column_names]
    return [AnswerText(*row) for row in zip(*values, strict=True)]


def _excerpts(table: Any) -> list[Excerpt]:
    """The answers of one observations table that carry an excerpt, in its order."""
    import pyarrow.compute as pc

    quoted = table.filter(pc.not_equal(table["excerpt"], ""))
    return [
        Excerpt(r["generation"], r["metric"], str(r["collected_on"]), tuple(t for t in r["tags"].split(";") if t),
                r["excerpt"], r["response_id"] or r["key"], r["featured"] == "true", r["method"])
        for r in quoted.select(["generation", "metric", "collected_on", "tags", "excerpt", "response_id", "key",
                                "featured", "method"]).to_pylist()
    ]


def _scores(column: Any, numbers: Any) -> np.ndarray:
    """Scores as floats, NaN where an answer was declined (no score)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(numbers(pc.fill_null(column, float("nan")), pa.float64(), np.float64))


def _counts_table(data: bytes, types: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, np.ndarray]:
    """counts.csv as observation columns (no interviews, tags or excerpts), and each row's count."""
    import pyarrow as pa

    table = _observation_table(data, types, columns)
    count = arrow_csv(data, {"count": pa.int64()}, ["count"])["count"].to_numpy()
    return table, np.asarray(count, dtype=np.int64)


def _observation_table(data: bytes, types: dict[str, Any], columns: tuple[str, ...]) -> Any:
    """One observations file as a table with every answer column; a file written before a column existed reads it as empty."""
    import pyarrow as pa

    header = data.split(b"\n", 1)[0].decode("utf-8").split(",")
    table = arrow_csv(data, types, [c for c in columns if c in header])
    for missing in (c for c in columns if c not in header):
        empty = pa.array([""] * table.num_rows, pa.string())
        table = table.append_column(missing, empty.dictionary_encode() if missing in CODED else empty)
    return table.select(list(columns))


def _concern_codes(tags: Any, pattern: str, numbers: Any) -> np.ndarray:
    """Whether each answer carries a concern tag: the regex runs once per distinct tag list, not per answer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    per_entry = numbers(pc.match_substring_regex(tags.dictionary, pattern), pa.uint8(), np.uint8).astype(bool)
    if not len(per_entry):
        return np.zeros(len(tags), dtype=bool)
    return np.asarray(per_entry[numbers(tags.indices, pa.int32(), np.int32)])


def _headers(store: Store) -> dict[str, list[str]]:
    headers = {}
    for name in [*schema.STORE_FILES.values(), *store.observation_files()]:
        header = store.read_header(name)
        if header is not None:
            headers[name] = header
    return headers


def _check_headers(headers: dict[str, list[str]]) -> None:
    """A store file edited outside merge must still have the store's columns; a target column is left to WR001."""
    for name, header in headers.items():
        kind = schema.kind_of_store_file(name)
        missing = [c for c in kind.store_names if c not in header and c not in kind.added_later]
        unknown = [c for c in header if c not in kind.store_names and not schema.target_column(c)]
        if missing or unknown:
            raise StoreError(
                f"{name}: the columns differ from the store's form ({', '.join(missing + unknown)}); "
                "it was changed outside merge (see 'welfare-report verify')"
            )


def _corrections(store: Store) -> list[Correction]:
    """corrections.csv, one line per row touched, grouped back into corrections."""
    grouped: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for line in store.table("corrections"):
        grouped.setdefault(tuple(line[n] for n in schema.CORRECTIONS.names), []).append(line)
    result = []
    for fields, lines in grouped.items():
        rows = []
        for line in lines:
            cells = next(csv.reader(io.StringIO(line["row"] + "\n")))
            # The two kinds of rows a correction touches have different numbers of columns.
            kind = schema.COUNTS if len(cells) == len(schema.COUNTS.store_names) else schema.OBSERVATIONS
            row = dict(zip(kind.store_names, cells, strict=False))
            rows.append(CorrectedRow(line["role"], row["generation"], row["metric"], row["collected_on"],
                                     float(row["score"]) if row["score"] else None, row["framing"], row["system_prompt"],
                                     int(row.get("count") or 1)))
        generation, metric, key, action, reason, by, date = fields
        result.append(Correction(generation, metric, key, action, reason, by, date, tuple(rows)))
    return result


def _with_data(answers: Answers, summaries: list[Summary], cut: str, column: str) -> set[str]:
    """The generations (or metrics) with answers or summaries dated on or before `cut` (answers are cut already)."""
    found = {getattr(s, column) for s in summaries if s.collected_on <= cut}
    if len(answers):
        present = np.bincount(answers.codes[column], minlength=len(answers.categories[column]))
        found |= {answers.categories[column][code] for code in np.flatnonzero(present)}
    return found


def load_history(store: Store, as_of: str | None = None, with_excerpts: bool = False) -> History:
    """Read the store and cut everything dated after `as_of`; the caller holds the store's lock."""
    headers = _headers(store)
    _check_headers(headers)
    generations = [
        Generation(r["generation"], r["release_date"], r["model"], r["predecessor"], r["label"], r["notes"])
        for r in store.table("generations")
    ]
    metrics = {
        r["metric"]: Metric(r["metric"], int(r["scale_min"]), int(r["scale_max"]), r["label"], r["question"],
                            r["description"], r.get("measure") or "self_report", r.get("corroborates", ""),
                            r.get("direction", ""))
        for r in store.table("metrics")
    }
    events = [
        Event(r["date"], r["kind"], r["description"], r["generation"], r["metric"], r["reference"])
        for r in store.table("events")
    ]
    acknowledgements = [
        Acknowledgement(r["rule"], tuple(r["generations"].split(";")), r["metric"], r["reason"], r["by"], r["date"])
        for r in store.table("acknowledgements")
    ]
    summaries = [
        Summary(
            r["generation"], r["metric"], r["collected_on"], float(r["mean"]), int(r["n"]),
            _optional_float(r["sd"]), _optional_float(r["ci_low"]), _optional_float(r["ci_high"]),
            _optional_float(r["redirect_rate"]), r["method"], r["source"],
            int(r["interviews"]) if r.get("interviews") else None, r.get("published_on", ""),
        )
        for r in store.table("summaries")
    ]
    answers, files, excerpts, texts = _read_answers(store, with_excerpts)
    # The default as-of date is the latest date of any row: reviews are dated after the data
    # they review, and a card is written before its model's release.
    corrections = _corrections(store)
    dates = ([s.collected_on for s in summaries] + [e.date for e in events] + [a.date for a in acknowledgements]
             + [c.date for c in corrections])
    if len(answers):
        dates.append(day_text(int(answers.day.max())))
    latest = max(dates, default=max((g.release_date for g in generations), default=EPOCH.isoformat()))
    cut = as_of or latest
    keep = answers.day <= day_number(cut)
    if not keep.all():
        answers = answers.subset(keep)
    # A generation appears once it is released or has data dated on or before the as-of date.
    with_data = _with_data(answers, summaries, cut, "generation")
    shown = sorted((g for g in generations if g.release_date <= cut or g.name in with_data),
                   key=lambda g: (g.release_date, g.name))
    names = {g.name for g in shown}
    # A metric appears once it has data dated on or before the as-of date: one defined later (or
    # measured only later) is not part of an earlier report, so it cannot change that report.
    measured = _with_data(answers, summaries, cut, "metric")
    return History(
        generations=shown,
        metrics={name: m for name, m in sorted(metrics.items()) if name in measured},
        events=[e for e in events if e.date <= cut],
        acknowledgements=[a for a in acknowledgements if a.date <= cut],
        summaries=[s for s in summaries if s.collected_on <= cut],
        answers=answers,
        as_of=cut,
        corrections=[c for c in corrections if c.date <= cut or any(r.collected_on <= cut for r in c.rows)],
        headers=headers,
        observation_files=files,
        excerpts=[e for e in excerpts if e.collected_on <= cut and e.generation in names],
        texts=[t for t in texts if t.collected_on <= cut and t.generation in names],
        phrases=[(r["source"], r["phrase"]) for r in store.table("phrases")],
    )
