"""CSV and XLSX downloads, safe to open in a spreadsheet program."""

import csv
import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV/formula
# injection, OWASP): such text is prefixed with an apostrophe so it stays text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Return `value` ready for a spreadsheet cell: text that could run as a formula is
    neutralised; numbers and dates pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_cell(value) -> str:
    """A CSV cell as Excel set to Indonesian reads it: a decimal comma in numbers, dates and
    times as text it recognises (2026-12-07 10:30)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (float, Decimal)):
        return str(value).replace(".", ",")
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return safe_cell(value)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """Return a CSV attachment for Excel in Indonesian: UTF-8 with a byte-order mark (so Excel
    reads it as UTF-8), fields separated by semicolons and decimal commas, since Indonesian
    Windows uses the comma for decimals and the semicolon as its list separator."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow([safe_cell(str(cell)) for cell in header])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return response


# How many rows the column widths are measured on (the rest stream through unmeasured).
WIDTH_SAMPLE = 200


def _width(value) -> int:
    if isinstance(value, datetime.datetime):
        return 16
    return len(str(value)) if value is not None else 0


def xlsx_response(filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """Return an XLSX attachment (xlsx_bytes)."""
    response = HttpResponse(xlsx_bytes(title, header, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """An XLSX workbook with one sheet: a bold frozen header row with an autofilter, columns as
    wide as their header and first rows, and dates as real dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    rows = iter(rows)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE))
    for column, label in enumerate(header, start=1):
        widest = max([len(str(label)), *(_width(row[column - 1]) for row in sample)])
        sheet.column_dimensions[get_column_letter(column)].width = min(max(widest + 2, 8), 60)
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, safe_cell(str(cell)), font=bold) for cell in header])
    count = 0
    for row in itertools.chain(sample, rows):
        sheet.append([_xlsx_cell(sheet, safe_cell(cell)) for cell in row])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value, font=None):
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if font is not None:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = font
        return cell
    return value
