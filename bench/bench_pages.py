"""Server time of the busiest pages over a year of statewide data on PostgreSQL.

    .venv/bin/python bench/bench_pages.py                 # generates the year first if it is missing
    .venv/bin/python bench/bench_pages.py --explain       # also EXPLAIN ANALYZE the slow pages' slow queries
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/peerrx_bench_small \\
        .venv/bin/python bench/bench_pages.py --requests 50000

Pages are served in-process by Django's test client with production settings (DEBUG off),
so the figure is the server's time (middleware, view, queries, template), without network
or browser: a live request's page and the part of it htmx polls, as its location's staff
see them; a 75-peer agency's roster, as its supervisor sees it; the Django admin's request
list as Peer-RX staff see it (first page, follow-up due, searched by code, one month).
Each page is fetched a few times to warm up, then ``--samples`` times (fewer, but at least
five, if a page exhausts its ``--budget`` of seconds); p50 and p95 are nearest-rank. The
floor is the sign-in page on the same stack: sessions, middleware and the base layout, no
query. A page whose p95 is over 200 ms is marked slow; ``--explain`` prints the plans of
its slow queries.

What the year lacks for these pages (a live request, credentials, overrides, users) is
added inside one transaction that is rolled back at the end: the shared year is read, never
changed. The figures replace the ``pages`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate_year
from bench.common import (
    argument_parser,
    load_average,
    measured_on,
    percentile,
    plain_static_files,
    publish,
    server_version,
)

SLOW_P95_SECONDS = 0.200
SLOW_QUERY_SECONDS = 0.020
MIN_SAMPLES = 5  # even for a page slower than its budget allows


def describe(sql: str) -> str:
    """A short name for a query, e.g. ``COUNT(*) FROM peer_requests_peerrequest``."""
    match = re.match(r'SELECT (.*?) FROM "(\w+)"', sql, re.DOTALL)
    if match is None:
        return sql.split(" ", 1)[0]
    columns, table = match.groups()
    head = re.match(r"(DISTINCT DATE_TRUNC\('\w+'|COUNT\(\*\)|MIN\(|MAX\(|COUNT\()", columns)
    what = (
        {"MIN(": "MIN/MAX", "MAX(": "MIN/MAX", "COUNT(": "counts"}.get(head.group(1), head.group(1))
        if head
        else ""
    )
    if what.startswith("DISTINCT DATE_TRUNC"):
        what += ")"
    where = " WHERE …" if " WHERE " in sql else ""
    return f"{what or 'rows'} FROM {table}{where}"


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    user: object | None  # None: anonymous


@dataclass(frozen=True)
class Result:
    page: Page
    samples: list[float]
    queries: list[dict]  # one more request's queries, as CaptureQueriesContext records them
    recorded_seconds: float  # that request's time

    def percentile(self, share: float) -> float:
        return percentile(self.samples, share)

    @property
    def sql_seconds(self) -> float:
        return sum(float(query["time"]) for query in self.queries)


def _users():
    """A nurse at the busiest location, a supervisor of a 75-peer agency, a staff superuser."""
    from accounts.models import User
    from agencies.models import Agency, AgencyMembership
    from locations.models import Location, LocationMembership

    # The generator sends most requests to the lowest location ids.
    location = Location.objects.order_by("id").first()
    agency = Agency.objects.order_by("id").first()
    nurse = User.objects.create(username="bench-pages-nurse", first_name="Dana", last_name="Nurse")
    LocationMembership.objects.create(user=nurse, location=location)
    supervisor = User.objects.create(username="bench-pages-supervisor", first_name="Sam", last_name="Lead")
    AgencyMembership.objects.create(user=supervisor, agency=agency)
    staff = User.objects.create(username="bench-pages-staff", is_staff=True, is_superuser=True)
    return location, agency, nurse, supervisor, staff


def _live_request(*, location, nurse, now: dt.datetime):
    """A request three minutes into collecting, as submit_request and five replies leave it."""
    from peer_requests.models import ACTIVE_STATUSES, Alert, PeerRequest, RequestEvent
    from peers.models import Language, Peer
    from sms.models import OutboundMessage

    taken = set(PeerRequest.objects.filter(status__in=ACTIVE_STATUSES).values_list("code", flat=True))
    code = next(f"{n:04d}" for n in range(4821, 14821) if f"{n % 10000:04d}" not in taken)
    created = now - dt.timedelta(minutes=3)
    peer_request = PeerRequest.objects.create(
        location=location,
        code=code,
        need="co_occurring",
        gender="female",
        callback_contact="Charge nurse, extension 4410",
        status="collecting",
        created_at=created,
        created_by=nurse,
        selection_due_at=created + dt.timedelta(minutes=10),
        expires_at=created + dt.timedelta(minutes=30),
    )
    peer_request.languages.set(Language.objects.filter(code="es"))
    peers = list(
        Peer.objects.filter(agency__counties=location.county_id, is_active=True).order_by("agency_id", "id")[
            :5
        ]
    )
    replies = [("yes", 90, ""), ("yes", 150, ""), ("no", 60, "in_transit"), ("", 0, ""), ("", 0, "")]
    alerts = Alert.objects.bulk_create(
        Alert(
            request=peer_request,
            peer=peer,
            created_at=created,
            response=response,
            responded_at=created + dt.timedelta(seconds=after) if response else None,
            decline_reason=reason,
        )
        for peer, (response, after, reason) in zip(peers, replies, strict=True)
    )
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            to=str(alert.peer.phone),
            body=f"Peer-RX: a peer is needed nearby. Reply YES {code} or NO {code}",
            kind="alert",
            peer=alert.peer,
            alert=alert,
            request=peer_request,
            status="failed" if index == 4 else "delivered",
            error_code="30006" if index == 4 else "",
            attempts=1,
            next_attempt_at=created,
            valid_until=peer_request.expires_at,
            created_at=created,
            sent_at=created + dt.timedelta(seconds=1),
            status_updated_at=created + dt.timedelta(seconds=4),
        )
        for index, alert in enumerate(alerts)
    )
    events = [
        RequestEvent(request=peer_request, kind="submitted", at=created, actor=nurse),
        RequestEvent(request=peer_request, kind="alerts_sent", at=created, detail="5 peers alerted"),
        RequestEvent(
            request=peer_request, kind="sms_failed", at=created + dt.timedelta(seconds=4), peer=peers[4]
        ),
    ]
    for alert, (response, _after, _reason) in zip(alerts, replies, strict=True):
        if response:
            kind = "reply_yes" if response == "yes" else "reply_no"
            events.append(
                RequestEvent(request=peer_request, kind=kind, at=alert.responded_at, peer=alert.peer)
            )
    RequestEvent.objects.bulk_create(sorted(events, key=lambda event: event.at))
    return peer_request


def _roster_details(*, agency, now: dt.datetime) -> None:
    """Credentials (a few expiring, expired or pending) and current overrides for the roster."""
    from peers.models import AvailabilityOverride, Credential, CredentialType, Peer

    types = {t.code: t for t in CredentialType.objects.filter(code__in=["CRPA", "NYCPS", "CRPA-P"])}
    today_ = now.date()
    credentials = []
    for n, peer in enumerate(Peer.objects.filter(agency=agency).order_by("id")):
        kinds = ["CRPA" if n % 2 else "NYCPS"] + (["CRPA-P" if n % 2 else "CRPA"] if n % 3 == 0 else [])
        for k, code in enumerate(kinds):
            expires = None if (n + k) % 3 == 0 else today_ + dt.timedelta(days=60 + 9 * n)
            if n % 15 == 4:
                expires = today_ + dt.timedelta(days=5 + n % 20)  # in the "expiring" warning
            if n % 25 == 7:
                expires = today_ - dt.timedelta(days=10)  # expired: no longer counts
            credentials.append(
                Credential(
                    peer=peer,
                    type=types[code],
                    number=f"{code}-{peer.pk:06d}-{k}",
                    issued_on=today_ - dt.timedelta(days=700),
                    expires_on=expires,
                    status="pending" if n % 20 == 11 else "validated",
                    validated_at=None if n % 20 == 11 else now - dt.timedelta(days=200),
                )
            )
        if n % 9 == 0:
            AvailabilityOverride.objects.create(
                peer=peer,
                starts_at=now - dt.timedelta(hours=1),
                ends_at=now + dt.timedelta(hours=3),
                is_available=n % 2 == 0,
                source="sms" if n % 2 else "supervisor",
            )
    Credential.objects.bulk_create(credentials)


def _fetch(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}, not 200")
    return elapsed


def _measure(page: Page, *, warmup: int, samples: int, budget: float) -> Result:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    if page.user is not None:
        client.force_login(page.user)
    for _ in range(warmup):
        if _fetch(client, page.url) > 1.0:
            break  # a slow page is warm after one fetch; the budget is better spent measuring it
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < samples and (time.perf_counter() < deadline or len(times) < MIN_SAMPLES):
        times.append(_fetch(client, page.url))
    # One more, recorded separately: recording queries adds its own small cost.
    with CaptureQueriesContext(connection) as captured:
        recorded = _fetch(client, page.url)
    return Result(
        page=page, samples=times, queries=list(captured.captured_queries), recorded_seconds=recorded
    )


def _explain(result: Result) -> None:
    from django.db import connection

    for query in sorted(result.queries, key=lambda q: -float(q["time"])):
        if float(query["time"]) < SLOW_QUERY_SECONDS:
            break
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n-- {result.page.label}: {float(query['time']) * 1000:.0f} ms\n{query['sql']}\n{plan}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--requests", type=int, default=generate_year.DEFAULT_REQUESTS)
    parser.add_argument("--samples", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per page before sampling less")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slow pages' slow queries")
    args = parser.parse_args()
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    generate_year.ensure(requests=args.requests)
    # WhiteNoise warns that STATIC_ROOT was never collected; the pages do not need it here.
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")

    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT requests, alerts FROM bench_dataset WHERE name = 'year'")
        requests, alerts = cursor.fetchone()
    server = server_version()
    results: list[Result] = []
    load_before = load_average()
    with plain_static_files(), transaction.atomic():
        now = timezone.now()
        location, agency, nurse, supervisor, staff = _users()
        peer_request = _live_request(location=location, nurse=nurse, now=now)
        _roster_details(agency=agency, now=now)
        peers = agency.peers.count()
        admin = "/admin/peer_requests/peerrequest/"
        pages = [
            Page("Sign-in page, anonymous (the floor)", "/accounts/login/", None),
            Page(
                f"Request page, live request with 5 alerts ({location})",
                f"/requests/{peer_request.pk}/",
                nurse,
            ),
            Page("Its live part, which htmx polls every 2 s", f"/requests/{peer_request.pk}/live/", nurse),
            Page(f"Agency roster, {peers} peers ({agency})", "/roster/", supervisor),
            Page("Admin request list, first page", admin, staff),
            Page("Admin request list, follow-up due", admin + "?follow_up=due", staff),
            Page("Admin request list, searched by code", admin + f"?q={peer_request.code}", staff),
            Page(
                # The "created at" filter's form of a month (its "This month" link, for October).
                "Admin request list, one month",
                admin + "?created_at__gte=2026-10-01&created_at__lt=2026-11-01",
                staff,
            ),
        ]
        print(f"{'page':<66} {'p50':>8} {'p95':>8} {'n':>3} {'queries':>7} {'SQL':>8}")
        for page in pages:
            result = _measure(page, warmup=args.warmup, samples=args.samples, budget=args.budget)
            results.append(result)
            print(
                f"{page.label[:66]:<66} {_ms(result.percentile(0.5)):>8} {_ms(result.percentile(0.95)):>8} "
                f"{len(result.samples):>3} {len(result.queries):>7} {_ms(result.sql_seconds):>8}",
                flush=True,
            )
        if args.explain:
            for result in results:
                if result.percentile(0.95) > SLOW_P95_SECONDS:
                    _explain(result)
        transaction.set_rollback(True)  # the shared year stays as it was
    load_after = load_average()

    floor = results[0].percentile(0.5)
    rows = []
    for result in results:
        p50, p95 = result.percentile(0.5), result.percentile(0.95)
        if result is results[0]:
            verdict = "floor"
        elif p95 > SLOW_P95_SECONDS:
            verdict = f"**slow: p95 {(p95 - SLOW_P95_SECONDS) * 1000:,.0f} ms over the 200 ms line**"
        else:
            verdict = "under 200 ms"
        share = f"{result.sql_seconds / result.recorded_seconds:.0%}" if result.queries else "–"
        slowest = "–"
        if result.queries and p95 > SLOW_P95_SECONDS:
            query = max(result.queries, key=lambda q: float(q["time"]))
            slowest = f"{_ms(float(query['time']))}: `{describe(query['sql'])}`"
        rows.append(
            f"| {result.page.label} | `{result.page.url}` | {len(result.queries)} | {_ms(p50)} | "
            f"{_ms(p95)} | {len(result.samples)} | {p50 / floor:,.0f}× | {share} | {slowest} | {verdict} |"
        )
    command = "`make bench` or `.venv/bin/python bench/bench_pages.py`"
    if args.requests != generate_year.DEFAULT_REQUESTS:
        command = f"`.venv/bin/python bench/bench_pages.py --requests {args.requests}`"
    body = "\n".join(
        [
            "## Pages: server time over a year of statewide data",
            "",
            measured_on(
                command,
                loads=(load_before, load_after),
                needs=" (data: `bench/generate_year.py`)",
                stack=f", PostgreSQL {server} with its default configuration",
            ),
            "",
            f"Data: the year of {requests:,} requests and {alerts:,} alerts, plus, in a transaction "
            "rolled back afterwards, a live request three minutes old with 5 alerts (2 YES, 1 NO, 1 failed "
            "text) and its timeline, and credentials and overrides for the agency's peers. Served in-process "
            "by Django's test client with DEBUG off: server time only, no network. Each page is fetched "
            f"{args.warmup} times to warm up (once if it takes over a second), then {args.samples} times "
            f"or for {args.budget:.0f} s (at least {MIN_SAMPLES} times); p50 and p95 are nearest-rank over "
            'the n samples; "× floor" is the page\'s p50 over the sign-in page\'s; "SQL" is the share of '
            "one more request's time spent in its queries, whose slowest is named for a slow page. A page "
            "whose p95 is over 200 ms is marked slow.",
            "",
            "| page | URL | queries | p50 | p95 | n | × floor | SQL | slowest query | |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
            *rows,
        ]
    )
    publish("pages", body, no_doc=args.no_doc)


if __name__ == "__main__":
    main()
