import csv

from django.http import HttpResponse

from core.spreadsheets import safe_cell
from reporting.tables import DURATION, RATE, Table


def csv_response(table: Table, *, filename: str) -> HttpResponse:
    """The table as a CSV download: a header row, then raw figures (rates as fractions, durations in s)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    units = {RATE: " (fraction)", DURATION: " (seconds)"}
    writer.writerow([column.label + units.get(column.kind, "") for column in table.columns])
    for row in table.csv_rows():
        writer.writerow([safe_cell(value) for value in row])
    return response
