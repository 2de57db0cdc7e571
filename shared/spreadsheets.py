"""CSV and XLSX in and out, for the spreadsheets campus staff and finance use."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from shared.problems import bad_request

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def read_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8, BOM allowed) or XLSX upload as dicts keyed by the header row."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise bad_request(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB.")
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:
            raise bad_request("The file is not a readable XLSX workbook.") from None
        sheet = wb.active
        rows = list(sheet.iter_rows(values_only=True)) if sheet is not None else []
        wb.close()
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        out = []
        for row in rows[1:]:
            if row is None or all(v is None or str(v).strip() == "" for v in row):
                continue
            out.append({header[i]: _cell(v) for i, v in enumerate(row) if i < len(header) and header[i]})
        return out
    if name.endswith(".csv") or not name:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise bad_request("The CSV file is not UTF-8 text.") from None
        reader = csv.DictReader(io.StringIO(text))
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    raise bad_request("Upload a .csv or .xlsx file.")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "hour"):
        text: str = (
            value.date().isoformat() if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
        )
        return text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as typed: no control characters, and text never starts a formula."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM so spreadsheet programs read Korean text right


def write_xlsx(sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook with one sheet per entry: name -> (headers, rows)."""
    wb = Workbook(write_only=True)
    for title, (headers, rows) in sheets.items():
        ws = wb.create_sheet(title=safe_title(title))
        ws.append([safe_cell(h) for h in headers])
        for row in rows:
            ws.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def safe_title(title: str) -> str:
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", "".join(c for c in title if c not in "[]:*?/\\"))
    return cleaned[:31] or "Sheet"
