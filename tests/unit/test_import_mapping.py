"""The mapping file of `tousu import` (tousu/importer/mapping.py) and how a
row's cells read through it: columns, codes, dates, and what is refused
before a row reaches the domain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tousu.importer.mapping import Mapping, MappingError
from tousu.importer.rows import FileError, header_and_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def mapping(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return Mapping.load(path)


BASIC = """
source: old
columns: {external_id: 编号, received_at: 时间, department: 单位, status: 状态}
values: {department: {SW: water}}
defaults: {status: closed}
"""


def test_codes_translate_and_unknown_ones_pass_on_for_the_domain(tmp_path: Path) -> None:
    m = mapping(tmp_path, BASIC)
    assert m.value({"单位": "SW"}, "department") == "water"
    assert m.value({"单位": " XX "}, "department") == "XX"  # the domain says it is unknown
    assert m.value({"单位": ""}, "department") is None
    assert m.value({}, "status") == "closed"  # the default for a blank


def test_dates_in_the_usual_forms_and_the_zone(tmp_path: Path) -> None:
    m = mapping(tmp_path, BASIC)
    want = datetime(2025, 3, 5, 9, 30, tzinfo=SHANGHAI)
    for text in ("2025-03-05 09:30", "2025/03/05 09:30:00", "2025-03-05T09:30:00+08:00"):
        assert m.instant({"时间": text}, "received_at") == want
    assert m.instant({"时间": "2025-03-05"}, "received_at") == datetime(2025, 3, 5, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="is not a date"):
        m.instant({"时间": "三月五日"}, "received_at")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("source: old\ncolumns: {received_at: 时间}", "external_id is required"),
        ("source: old\ncolumns: {external_id: a, received_at: b, colour: c}", "colour"),
        ("columns: {external_id: a, received_at: b}", "source"),
        ("source: old\ncolumns: {external_id: a, received_at: b}\ntimezone: Mars/Base", "Mars"),
        ("source: old\ncolumns: {external_id: a, received_at: b}\nvalues: {x: {}}", "values.x"),
    ],
)
def test_a_bad_mapping_says_where(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(MappingError, match=says):
        mapping(tmp_path, text)


def test_the_files_columns_are_checked_and_blank_rows_skipped(tmp_path: Path) -> None:
    m = mapping(tmp_path, BASIC)
    path = tmp_path / "old.csv"
    path.write_text("\ufeff编号,时间\nA1,2025-03-05\n,\nA2,2025-03-06\n", encoding="utf-8")
    header, rows = header_and_rows(path)
    assert m.missing_columns(header) == ["单位", "状态"]
    assert [(r.number, r.values["编号"]) for r in rows] == [(2, "A1"), (4, "A2")]
    with pytest.raises(FileError):
        header_and_rows(tmp_path / "old.txt")
