"""Tables to files: CSV and JSON with the standard library, Excel (openpyxl) and Parquet (pyarrow)
when the ``analytics`` extra is installed. Rows are written as they come (CSV, JSON, xlsx's
write-only mode), with a progress line on a terminal for long exports."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

FORMATS = ("csv", "json", "xlsx", "parquet")
PROGRESS_EVERY = 50_000


class ExportError(RuntimeError):
    """One line for the operator: a format whose library is missing, a file that cannot be written."""


def progress(total: int, stream: IO[str] = sys.stderr) -> Callable[[int], None]:
    """A ``done`` callback printing "rows n/total" over itself, on a terminal only."""
    if not stream.isatty() or total < PROGRESS_EVERY:
        return lambda done: None

    def show(done: int) -> None:
        end = "\n" if done >= total else ""
        stream.write(f"\rexporting: {done}/{total} rows ({100 * done // total}%){end}")
        stream.flush()

    return show


def write(path: Path, fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    tick = progress(len(rows))
    try:
        if fmt == "csv":
            with path.open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(columns)
                for i, row in enumerate(rows, 1):
                    out.writerow(["" if v is None else v for v in row])
                    if i % PROGRESS_EVERY == 0:
                        tick(i)
        elif fmt == "json":
            with path.open("w", encoding="utf-8") as f:
                f.write("[")
                for i, row in enumerate(rows, 1):
                    f.write(("\n" if i == 1 else ",\n") + json.dumps(dict(zip(columns, row, strict=True))))
                    if i % PROGRESS_EVERY == 0:
                        tick(i)
                f.write("\n]\n")
        elif fmt == "xlsx":
            _xlsx(path, columns, rows)
        elif fmt == "parquet":
            _parquet(path, columns, rows)
        else:
            raise ExportError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    except OSError as exc:
        raise ExportError(f"{path}: {exc.strerror or exc}") from exc
    tick(len(rows))


def _xlsx(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    try:
        from openpyxl import Workbook  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ExportError("xlsx needs openpyxl: pip install 'callcenter[analytics]'") from exc
    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(list(columns))
    for row in rows:
        sheet.append(list(row))
    book.save(path)


def _parquet(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ExportError("parquet needs pyarrow: pip install 'callcenter[analytics]'") from exc
    data = {c: [row[i] for row in rows] for i, c in enumerate(columns)}
    pq.write_table(pa.table(data), path)
