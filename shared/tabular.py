"""Rows of a list as a spreadsheet: XLSX (openpyxl, write-only) or CSV, written to a temporary file.

Rows are added a batch at a time and flushed to disk as they come (openpyxl's write-only sheet keeps
its rows in a file of its own, strings inline: nothing grows with the row count), so a year of
rows costs a page of memory. The caller streams the finished file out and removes it.

A column is a key (a dotted path into the item: `visit.patient_name`), the label the console shows
and, for a code, the text shown for each value (`{"cash": "现金"}`). What a value is follows from
its first non-empty occurrence in the column: money (a JSON string like "12.50") becomes a number
shown with two decimals, an instant becomes the hospital's local time as text, numbers stay numbers.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from shared.i18n import Text, render


class TableFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


MEDIA_TYPES = {
    TableFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    TableFormat.CSV: "text/csv; charset=utf-8",
}

MONEY = re.compile(r"^-?\d{1,13}\.\d{2}$")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
# A text cell a spreadsheet would run as a formula (CSV injection): shown with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
YES_NO = (Text("是", "Yes"), Text("否", "No"))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    values: Mapping[str, str] | None = None


def default_columns(item: Mapping[str, Any]) -> list[Column]:
    """Every scalar field of an item, labelled with its key (a list exported without `columns`)."""
    return [Column(key, key) for key, value in item.items() if not isinstance(value, dict | list)]


def lookup(item: Mapping[str, Any], key: str) -> Any:
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _code(value: Any) -> str:
    # JSON's true/false as a map's keys from the console spell them.
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass
class _Kind:
    """What one column holds, decided by its first non-empty value."""

    kind: str = ""  # "money" | "instant" | "" (undecided) | "plain"

    def decide(self, value: Any) -> None:
        if self.kind or value is None or value == "":
            return
        if isinstance(value, str) and MONEY.match(value):
            self.kind = "money"
        elif isinstance(value, str) and INSTANT.match(value):
            self.kind = "instant"
        else:
            self.kind = "plain"


@dataclass
class TableWriter:
    """`add` items as they come, `finish` for the file; `discard` removes it (also after `finish`)."""

    format: TableFormat
    columns: list[Column]
    timezone: str
    sheet_title: str = "Sheet1"
    directory: Path | None = None
    rows: int = 0
    path: Path = field(init=False)
    _kinds: list[_Kind] = field(init=False)

    def __post_init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="hamp-export-", suffix=f".{self.format.value}", dir=self.directory)
        os.close(handle)
        self.path = Path(name)
        self._zone = ZoneInfo(self.timezone)
        self._kinds = [_Kind() for _ in self.columns]
        labels = [c.label for c in self.columns]
        if self.format is TableFormat.CSV:
            # The BOM makes Excel read the file as UTF-8 (Chinese otherwise shows garbled).
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._file)
            self._csv.writerow(labels)
        else:
            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet(_sheet_name(self.sheet_title))
            for index, label in enumerate(labels):
                letter = _letter(index)
                self._sheet.column_dimensions[letter].width = min(60, max(10, 2 * len(label) + 2))
            bold = Font(bold=True)
            self._sheet.append([_header(self._sheet, label, bold) for label in labels])

    def add(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            raw = [lookup(item, c.key) for c in self.columns]
            for kind, value in zip(self._kinds, raw, strict=True):
                kind.decide(value)
            cells = [self._value(c, k, v) for c, k, v in zip(self.columns, self._kinds, raw, strict=True)]
            if self.format is TableFormat.CSV:
                self._csv.writerow([_csv_text(v) for v in cells])
            else:
                self._sheet.append([self._xlsx_cell(v) for v in cells])
            self.rows += 1

    def finish(self) -> Path:
        if self.format is TableFormat.CSV:
            self._file.close()
        else:
            self._book.save(self.path)
        return self.path

    def discard(self) -> None:
        if self.format is TableFormat.CSV:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def _value(self, column: Column, kind: _Kind, value: Any) -> Any:
        if value is None:
            return ""
        if column.values is not None and _code(value) in column.values:
            return column.values[_code(value)]
        if isinstance(value, bool):
            return render(YES_NO[0] if value else YES_NO[1])
        if kind.kind == "money" and isinstance(value, str):
            try:
                return Decimal(value)
            except InvalidOperation:
                return value
        if kind.kind == "instant" and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            return moment.astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, dict | list):
            return str(value)
        return value

    def _xlsx_cell(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.number_format = "0.00"
            return cell
        if isinstance(value, str):
            cell = WriteOnlyCell(self._sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"  # never a formula, whatever the text begins with
            return cell
        return value


def _csv_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _header(sheet: Any, label: str, bold: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", label))
    cell.data_type = "s"
    cell.font = bold
    return cell


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_name(title: str) -> str:
    # Excel refuses these characters and names over 31 characters.
    return re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "Sheet1"
