"""Times every report over a whole year of statewide data on PostgreSQL.

    .venv/bin/python bench/bench_reports.py            # generates the year first if it is missing
    .venv/bin/python bench/bench_reports.py --requests 200000

Each report runs over the full year (2025-11-01 to 2026-10-31, New York time) as Peer-RX
staff see it, best of 3, with its query count; then the three report pages end to end
(staff, the busiest agency, the busiest location). The target is 1 s per report. The
figures replace the ``reports`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate_year
from bench.common import (
    Timing,
    argument_parser,
    best_of,
    load_average,
    measured_on,
    plain_static_files,
    publish,
    server_version,
)

TARGET_SECONDS = 1.0
YEAR = {"start": dt.date(2025, 11, 1), "end": dt.date(2026, 10, 31)}


def _reports(criteria):
    from reporting import selectors

    return [
        (
            "1. Summary: outcomes, rates, median and p90 time to assignment",
            lambda: selectors.request_summary(criteria=criteria),
        ),
        (
            "1. Requests per day (365 days)",
            lambda: selectors.requests_per_period(criteria=criteria, period="day"),
        ),
        ("1. Requests per week", lambda: selectors.requests_per_period(criteria=criteria, period="week")),
        ("2. Requests per location", lambda: selectors.requests_per_location(criteria=criteria)),
        ("3. Requests by need", lambda: selectors.requests_by_need(criteria=criteria)),
        ("4. Characteristics requested and met", lambda: selectors.characteristics(criteria=criteria)),
        ("5. Peer response per agency", lambda: selectors.peer_response(criteria=criteria)),
        ("6. Competing priorities per agency", lambda: selectors.decline_reasons(criteria=criteria)),
        ("7. Staffing against need (weekday × hour)", lambda: selectors.staffing(criteria=criteria)),
        ("Filled, by how the peer was reached", lambda: selectors.filled_by_reach(criteria=criteria)),
        *[
            (
                f"Time to the patient's side, by {by}",
                lambda by=by: selectors.time_to_bedside(criteria=criteria, by=by),
            )
            for by in selectors.BEDSIDE_GROUPS
        ],
        ("Encounters by outcome", lambda: selectors.encounters_by_outcome(criteria=criteria)),
        (
            "Encounters for billing, per agency, peer and month",
            lambda: selectors.billing_units(criteria=criteria),
        ),
    ]


def _pages():
    """The three pages end to end through Django's test client, with the year as filters."""
    from django.db.models import Count
    from django.test import Client

    from accounts.models import User
    from agencies.models import Agency, AgencyMembership
    from locations.models import Location, LocationMembership

    busiest_location = Location.objects.annotate(n=Count("requests")).order_by("-n").first()
    busiest_agency = Agency.objects.order_by("id").first()
    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    supervisor, _ = User.objects.get_or_create(username="bench-supervisor")
    AgencyMembership.objects.get_or_create(user=supervisor, defaults={"agency": busiest_agency})
    nurse, _ = User.objects.get_or_create(username="bench-nurse")
    LocationMembership.objects.get_or_create(user=nurse, defaults={"location": busiest_location})
    query = f"?start={YEAR['start']}&end={YEAR['end']}"
    pages = []
    for label, user, url in (
        ("Staff reports page, whole year, all reports", staff, "/reports/staff/"),
        (f"Agency reports page ({busiest_agency}), whole year", supervisor, "/reports/agency/"),
        (f"Location summary page ({busiest_location}), whole year", nurse, "/reports/location/"),
    ):
        client = Client()
        client.force_login(user)

        def fetch(client=client, url=url):
            response = client.get(url + query)
            assert response.status_code == 200, response.status_code

        pages.append((label, fetch))
    return pages


def _row(label: str, timing: Timing, *, target: bool = True) -> str:
    figure = f"{timing.best * 1000:,.0f} ms"
    if not target:  # a page runs several reports: shown for scale, compared with nothing
        return f"| {label} | {figure} | {timing.queries} | – | – | sum of its reports |"
    ratio = timing.best / TARGET_SECONDS
    verdict = "met" if timing.best < TARGET_SECONDS else f"**missed by {timing.best - TARGET_SECONDS:.2f} s**"
    return f"| {label} | {figure} | {timing.queries} | 1 s | {ratio:.2f} | {verdict} |"


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--requests", type=int, default=generate_year.DEFAULT_REQUESTS)
    args = parser.parse_args()
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    generate_year.ensure(requests=args.requests)

    from django.conf import settings
    from django.db import connection

    from agencies.models import Agency
    from peer_requests.models import Alert, PeerRequest
    from reporting import selectors
    from reporting.selectors import Criteria

    with connection.cursor() as cursor:
        cursor.execute("SELECT requests, alerts FROM bench_dataset WHERE name = 'year'")
        requests, alerts = cursor.fetchone()
    server = server_version()
    assert PeerRequest.objects.exists() and Alert.objects.exists()
    criteria = Criteria(tz_name=settings.TIME_ZONE, **YEAR)
    agency = Agency.objects.order_by("id").first()
    october = Criteria(tz_name=settings.TIME_ZONE, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    as_agency = Criteria(tz_name=settings.TIME_ZONE, agency_id=agency.id, **YEAR)
    # Every report as the first agency sees the year (its peers' alerts, the requests they were
    # alerted for), and the heaviest report over everyone's month.
    extra = [(f"{label}, {agency}'s view", run) for label, run in _reports(as_agency)]
    extra.append(
        ("5. Peer response, all agencies, one month", lambda: selectors.peer_response(criteria=october))
    )
    rows = []
    load_before = load_average()
    print(f"{'report':<70} {'best':>9} {'queries':>8}")
    with plain_static_files():
        runs = [(label, run, True) for label, run in [*_reports(criteria), *extra]]
        runs += [(label, run, False) for label, run in _pages()]
        for label, run, has_target in runs:
            timing = best_of(run)
            print(f"{label:<70} {timing.best * 1000:>7,.0f} ms {timing.queries:>8}", flush=True)
            rows.append(_row(label, timing, target=has_target))
    load_after = load_average()

    command = "`make bench` or `.venv/bin/python bench/bench_reports.py`"
    if args.requests != generate_year.DEFAULT_REQUESTS:
        command = f"`.venv/bin/python bench/bench_reports.py --requests {args.requests}`"
    body = "\n".join(
        [
            "## Reports over a year of statewide data",
            "",
            measured_on(
                command,
                loads=(load_before, load_after),
                needs=" (data: `bench/generate_year.py`)",
                stack=f", PostgreSQL {server} with its default configuration",
            ),
            "",
            f"Data: {requests:,} requests and {alerts:,} alerts (one alert text each) from 2025-11-01 to "
            "2026-10-31 across 100 locations, 40 agencies and 3,000 peers with weekly hours. Each figure is "
            "the best of 3 runs over the whole year as Peer-RX staff see it (no filter), then as the first "
            "agency sees it; pages are served end to end by Django's test client.",
            "",
            "| report | best of 3 | queries | target | ratio | |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
        ]
    )
    publish("reports", body, no_doc=args.no_doc)


if __name__ == "__main__":
    main()
