"""The consent record as CSV: one writer for the agency's download and the admin's action."""

import csv
from collections.abc import Iterable

from django.http import HttpResponse

from core.spreadsheets import safe_cell
from peers.models import ConsentRecord

HEADER = ["when (UTC)", "peer", "number", "what", "how", "text", "recorded by", "agency"]


def consent_csv(records: Iterable[ConsentRecord]) -> HttpResponse:
    """``records`` (with their peer's agency and actor selected) as a CSV download."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="peer-rx-consent.csv"'
    writer = csv.writer(response)
    writer.writerow(HEADER)
    for record in records:
        writer.writerow(
            [
                record.at.isoformat(),
                safe_cell(record.peer.full_name),
                record.phone,
                record.get_action_display(),
                record.get_source_display(),
                safe_cell(record.text),
                safe_cell(str(record.actor or "")),
                safe_cell(record.peer.agency.name),
            ]
        )
    return response
