"""Time and peak memory of refusing small hostile inputs, run by `make bench`.

Each input is refused in a fresh process by the command that meets it
(`validate` for input files, `render --notes` for notes images,
`from-inspect` for logs, `verify` for report folders); the figures show
that the limits are checked before anything is parsed or decoded in full.
The test suite asserts only the refusals (tests/test_input_limits.py,
tests/test_tamper_round2.py, tests/test_inspect.py), never a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

WORK = Path(__file__).parent / ".work" / "hostile"


def parquet_of_twenty_million_rows(path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    zeros = pa.array(np.zeros(20_000_000, dtype=np.int32))
    columns = (("generation", "m-1"), ("metric", "mood"), ("collected_on", "2025-01-01"), ("score", "4"))
    pq.write_table(pa.table({n: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for n, v in columns}), path,
                   compression="zstd")


def parquet_of_9999999_bad_rows(path: Path) -> None:
    """Just under the row limit, so only its rows can refuse it: every date is impossible."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    zeros = pa.array(np.zeros(9_999_999, dtype=np.int32))
    columns = (("generation", "m-1"), ("metric", "mood"), ("collected_on", "2025-13-45"), ("score", "4"))
    pq.write_table(pa.table({n: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for n, v in columns}), path,
                   compression="zstd")


def million_columns(path: Path) -> None:
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join("1" for _ in range(1_000_000)) + "\n")


def line_of_150_mb(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(b"generation,metric,collected_on,score,excerpt\nm-1,mood,2025-01-01,4,\"")
        for _ in range(150):
            handle.write(b"x" * (1 << 20))
        handle.write(b"\"\n")


def huge_scale_and_tags(path: Path) -> None:
    path.write_text("metric,scale_min,scale_max\nhuge,-999999999,999999999\n")


def broken_json_lines(path: Path) -> None:
    row = '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": '
    path.write_text("\n".join([row + "4, \"SCORE\": 7}", row + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000]) + "\n")


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def notes_with_inline_svg(path: Path) -> None:
    import base64

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><g id="a"><rect '
           'width="1" height="1"/></g>' + "".join(f'<g id="{chr(98 + i)}"><use xlink:href="#{chr(97 + i)}"/><use '
                                                   f'xlink:href="#{chr(97 + i)}"/></g>' for i in range(20)) + "</svg>")
    path.write_text(f"![x](data:image/png;base64,{base64.b64encode(svg.encode()).decode()})\n")


def notes_with_a_png_bomb(path: Path) -> None:
    (path.parent / "wide.png").write_bytes(_png(13000, 13000))
    path.write_text("![wide](wide.png)\n")


def eval_bomb(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("header.json", b'{"a": "' + b" " * (512 << 20) + b'"}')


def report_with_a_fifo(path: Path) -> None:
    _report(path)
    (path / "findings.json").unlink()
    os.mkfifo(path / "findings.json")


def report_with_dev_zero(path: Path) -> None:
    _report(path)
    (path / "findings.json").unlink()
    (path / "findings.json").symlink_to("/dev/zero")


def _report(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "reporter", "--history", str(HISTORY), "render", "--out", str(path),
                    "--format", "json"], check=True, capture_output=True)


HISTORY = WORK / "history"


def _history(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "reporter", "example", str(path), "--observations", "2000"], check=True,
                   capture_output=True)


# Inputs other commands meet: file -> (how to make it, the command that must refuse it).
OTHER_CASES: dict[str, tuple[Callable[[Path], None], Callable[[Path], list[str]]]] = {
    "notes-inline-svg.md": (notes_with_inline_svg, lambda p: ["--history", str(HISTORY), "render", "--out",
                                                              str(WORK / "out"), "--notes", str(p), "--format", "pdf"]),
    "notes-png-bomb.md": (notes_with_a_png_bomb, lambda p: ["--history", str(HISTORY), "render", "--out",
                                                            str(WORK / "out"), "--notes", str(p), "--format", "pdf"]),
    "bomb.eval": (eval_bomb, lambda p: ["from-inspect", str(p), "--out", str(WORK / "out.csv"), "--generation", "g"]),
    "report-fifo": (report_with_a_fifo, lambda p: ["--history", str(HISTORY), "verify", str(p)]),
    "report-dev-zero": (report_with_dev_zero, lambda p: ["--history", str(HISTORY), "verify", str(p)]),
}

CASES = {
    "twenty-million-rows.parquet": parquet_of_twenty_million_rows,
    "9999999-bad-rows.parquet": parquet_of_9999999_bad_rows,
    "million-columns.csv": million_columns,
    "line-150mb.csv": line_of_150_mb,
    "scale.csv": huge_scale_and_tags,
    "broken.jsonl": broken_json_lines,
}


def refuse(path: Path, arguments: list[str] | None = None) -> tuple[float, float, int]:
    start = time.perf_counter()
    command = arguments or ["--history", str(WORK / "none"), "validate", str(path)]
    process = subprocess.Popen([sys.executable, "-m", "reporter", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def make_files() -> None:
    for name, make in CASES.items():
        if not (WORK / name).exists():
            make(WORK / name)
    if not HISTORY.exists():
        _history(HISTORY)
    for name, (make_other, _command) in OTHER_CASES.items():
        if not os.path.lexists(WORK / name):
            make_other(WORK / name)


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    # Made in a child process: a forked child's peak memory counts its parent's pages.
    subprocess.run([sys.executable, __file__, "--make"], check=True)
    print(f"{'hostile input':<30} {'size':>10} {'refused in':>11} {'peak MiB':>9} {'exit':>5}")
    for name, make in [*CASES.items(), ("/dev/zero", None)]:
        path = Path(name) if make is None else WORK / name
        size = path.stat().st_size if path.is_file() else 0
        elapsed, peak, code = refuse(path)
        print(f"{path.name:<30} {size / 1e6:>8.2f}MB {elapsed:>10.2f}s {peak:>9.0f} {code:>5}")
    for name, (_make, command) in OTHER_CASES.items():
        path = WORK / name
        size = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
        elapsed, peak, code = refuse(path, command(path))
        print(f"{name:<30} {size / 1e6:>8.2f}MB {elapsed:>10.2f}s {peak:>9.0f} {code:>5}")


if __name__ == "__main__":
    make_files() if sys.argv[1:] == ["--make"] else main()
