"""The rows of an old system's export, CSV or XLSX, each with its row number
as a spreadsheet shows it (the header is row 1)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl


@dataclass(frozen=True)
class Row:
    number: int  # as the file shows it: the header is row 1
    values: dict[str, str]


class FileError(ValueError):
    """The file cannot be read as a table of rows."""


def header_and_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    """The file's column names and its rows, read as they are needed (an
    XLSX read-only, a CSV line by line), so a big file is not held whole."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(path)
    raise FileError(f"{path}: only .csv and .xlsx files can be imported")


def count_rows(path: Path) -> int:
    """How many data rows the file has, for the progress bar: a CSV's lines
    counted, an XLSX's from the sheet's dimensions (blank rows included).
    A sheet written by a streaming writer (openpyxl's write-only mode, many
    exporters) states no dimensions: its rows are counted as they stream by,
    read-only like the import itself (about 2 s for 10,000 rows)."""
    if path.suffix.lower() == ".csv":
        _, rows = header_and_rows(path)
        return sum(1 for _ in rows)
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet = book.worksheets[0]
        stated = sheet.max_row
        if not stated or stated <= 1:  # none stated (or only "A1"): count them
            stated = sum(1 for _ in sheet.iter_rows(values_only=True))
        return max(stated - 1, 0)
    finally:
        book.close()


def _csv(path: Path) -> tuple[list[str], Iterator[Row]]:
    # utf-8-sig: Excel writes a byte-order mark before a UTF-8 CSV.
    handle = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise FileError(f"{path}: the file is empty") from None

    def rows() -> Iterator[Row]:
        with handle:
            for number, cells in enumerate(reader, start=2):
                if any(cell.strip() for cell in cells):
                    yield Row(number, dict(zip(header, cells, strict=False)))

    return header, rows()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed as 1001 reads 1001.0
    return str(value)


def _xlsx(path: Path) -> tuple[list[str], Iterator[Row]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise FileError(f"{path}: {exc}") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    try:
        header = [_cell(v).strip() for v in next(cells)]
    except StopIteration:
        book.close()
        raise FileError(f"{path}: the first sheet is empty") from None

    def rows() -> Iterator[Row]:
        try:
            for number, values in enumerate(cells, start=2):
                texts = [_cell(v) for v in values]
                if any(t.strip() for t in texts):
                    yield Row(number, dict(zip(header, texts, strict=False)))
        finally:
            book.close()

    return header, rows()
