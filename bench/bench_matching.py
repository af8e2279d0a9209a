"""Eligibility and scoring for one request among 50,000 peers, on PostgreSQL.

    .venv/bin/python bench/bench_matching.py
    .venv/bin/python bench/bench_matching.py --explain          # also print the query plans
    .venv/bin/python bench/bench_matching.py --peers 50000 --responders 500 --repeat 9

Builds a world in a dedicated database (``BENCH_MATCHING_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/peerrx_bench_eligibility, dropped, created and migrated
here): 62 counties, one agency per 100 peers (a tenth of them outside New York time, one in
ten not verified), each serving three counties; peers with languages, one or two credentials
(validated, pending, rejected, expired), three to five weekly windows on six shift patterns,
overrides around the request's instant for a fifth of them, and a week of past assignments
for the fairness rule. Everything is ``INSERT ... SELECT`` over ``generate_series``.

Then one request (co-occurring need, Spanish, female, 18–35) from a location in county 1:
the eligibility query ``submit_request`` runs (``peers.selectors.eligible_peers``), and,
with alerts sent to every eligible peer and ``--responders`` of them replying YES, the
ranking of the choice (``peer_requests.candidates.rank_responders``). Both are timed best of
``--repeat`` with their query counts, at the full size and at a tenth of it, to show the
query count does not grow with the data. The target is 100 ms each; the figures replace the
``matching`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate_year
from bench.common import (
    Timing,
    argument_parser,
    best_of,
    load_average,
    measured_on,
    publish,
    server_version,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerrx_bench_eligibility"
TARGET_SECONDS = 0.100
COUNTIES = 62
PEERS_PER_AGENCY = 100
# A Wednesday afternoon in New York: day and evening shifts overlap, other zones are earlier.
AT = dt.datetime(2026, 1, 14, 15, 0, tzinfo=ZoneInfo("America/New_York"))
REQUEST_COUNTY = 1
NEED = "co_occurring"  # both credential families qualify: the widest eligibility


@dataclass(frozen=True)
class World:
    peers: int
    agencies: int
    windows: int
    overrides: int
    overrides_now: int
    credentials: int
    serving_peers: int
    eligible: int
    responders: int


def database_url() -> str:
    return os.environ.get("BENCH_MATCHING_DATABASE_URL", DEFAULT_DATABASE_URL)


def _load(*, peers: int, responders: int) -> World:
    """Empty the world's tables and fill them for ``peers`` peers; set up the request."""
    from django.db import connection, transaction

    from accounts.models import County
    from agencies.models import Agency
    from core.choices import TIME_ZONES
    from locations.models import Location, PreferredAgency
    from peer_requests.models import Alert, PeerRequest
    from peers.models import (
        AvailabilityOverride,
        AvailabilityWindow,
        Credential,
        CredentialType,
        Language,
        Peer,
    )
    from peers.selectors import eligible_peers

    insert = generate_year._insert
    agencies = max(1, peers // PEERS_PER_AGENCY)
    languages = dict(Language.objects.values_list("code", "id"))
    others = [languages[c] for c in ("zh", "ht", "ru", "bn", "ar", "ko", "fr", "pl", "yi", "ase")]
    types = dict(CredentialType.objects.values_list("code", "id"))
    zones = [name for name, _label in TIME_ZONES if name != "America/New_York"]
    # Literals rather than parameters: _insert puts the models' default values first in its
    # parameter list, so a parameter inside a column expression would take the wrong value.
    at = f"timestamptz '{AT.isoformat()}'"
    zone_array = "ARRAY[" + ", ".join(f"'{zone}'" for zone in zones) + "]"

    def ids(codes: tuple[str, ...]) -> str:
        return "(ARRAY[" + ", ".join(str(types[code]) for code in codes) + "])"

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {County._meta.db_table}, {Agency._meta.db_table}, {Peer._meta.db_table} "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("SET LOCAL synchronous_commit = off")
        insert(
            cursor,
            County,
            {"id": "g", "name": "'County ' || g", "state": "'NY'"},
            f"FROM generate_series(1, {COUNTIES}) g",
        )
        insert(
            cursor,
            Agency,
            {
                "id": "g",
                "name": "'Agency ' || g",
                "contact_name": "'Supervisor ' || g",
                "phone": "'+1914' || lpad(g::text, 7, '0')",
                "email": "'agency' || g || '@example.org'",
                # Nine in ten keep New York time; the others spread over every other zone.
                "timezone": f"CASE WHEN g %% 10 <> 7 THEN 'America/New_York' "
                f"ELSE ({zone_array})[1 + (g / 10) %% {len(zones)}] END",
                "status": "CASE WHEN g %% 20 = 3 THEN 'pending' WHEN g %% 20 = 13 THEN 'suspended' "
                "ELSE 'verified' END",
            },
            f"FROM generate_series(1, {agencies}) g",
        )
        # Three counties each; 7a + 19j (mod 62) never repeats a county for one agency.
        insert(
            cursor,
            Agency.counties.through,
            {"agency_id": "a", "county_id": f"1 + (a * 7 + j * 19) %% {COUNTIES}"},
            f"FROM generate_series(1, {agencies}) a CROSS JOIN generate_series(0, 2) j",
        )
        insert(
            cursor,
            Location,
            {
                "id": "1",
                "name": "'Location 1'",
                "kind": "'emergency_department'",
                "address": "'1 Main Street'",
                "county_id": str(REQUEST_COUNTY),
                "timezone": "'America/New_York'",
                "notification_phone": "'+18450000001'",
                "status": "'verified'",
            },
            "",
        )
        insert(
            cursor,
            Peer,
            {
                "id": "g",
                "agency_id": f"1 + (g - 1) / {PEERS_PER_AGENCY}",
                "first_name": "'Peer'",
                "last_name": "'Number ' || g",
                "phone": "'+1555' || lpad(g::text, 7, '0')",
                "age_range": "CASE WHEN g %% 9 < 5 THEN '18_35' ELSE '36_plus' END",
                "gender": "(ARRAY['female', 'male', 'non_binary'])"
                "[1 + (g %% 20 > 8)::int + (g %% 20 = 19)::int]",
                "is_active": "g %% 50 <> 0",
                "consented_at": f"{at} - interval '365 days'",
                "opted_out_at": f"CASE WHEN g %% 97 = 0 THEN {at} - interval '30 days' END",
                "phone_flagged_at": f"CASE WHEN g %% 89 = 0 THEN {at} - interval '3 days' END",
            },
            f"FROM generate_series(1, {peers}) g",
        )
        insert(
            cursor,
            Peer.languages.through,
            {"peer_id": "p.id", "language_id": "p.language_id"},
            f"""FROM (
                SELECT g AS id, %s AS language_id FROM generate_series(1, {peers}) g
                UNION ALL SELECT g, %s FROM generate_series(1, {peers}) g WHERE g %% 4 = 0
                UNION ALL SELECT g, (%s::int[])[1 + g %% {len(others)}]
                  FROM generate_series(1, {peers}) g WHERE g %% 10 = 3
            ) p""",
            [languages["en"], languages["es"], others],
        )
        # One credential each, a second for three in ten; h mixes peer and slot so statuses
        # and expiry dates do not line up with the credential type.
        insert(
            cursor,
            Credential,
            {
                "peer_id": "c.g",
                "type_id": "c.type_id",
                "number": "'C-' || c.g || '-' || c.k",
                "issued_on": f"({at})::date - 400 - c.h %% 1000",
                "expires_on": f"CASE WHEN c.h %% 10 = 0 THEN ({at})::date - 1 - c.h %% 60 "
                f"WHEN c.h %% 10 < 5 THEN NULL ELSE ({at})::date + 30 + c.h %% 700 END",
                "status": "CASE WHEN c.h %% 20 < 17 THEN 'validated' WHEN c.h %% 20 < 19 THEN 'pending' "
                "ELSE 'rejected' END",
                "validated_at": f"CASE WHEN c.h %% 20 < 17 THEN {at} - interval '90 days' END",
                "document": "''",
            },
            f"""FROM (
                SELECT g, k, (g * 7 + k * 3) %% 1009 AS h,
                  CASE WHEN k = 0 THEN {ids(("CRPA", "NYCPS", "CPRS", "CRPA-P", "NYCPS-P"))}[1 + g %% 5]
                    ELSE {ids(("NYCPS", "CRPA", "CRSS"))}[1 + g %% 3] END AS type_id
                FROM generate_series(1, {peers}) g
                CROSS JOIN generate_series(0, 1) k
                WHERE k = 0 OR g %% 10 < 3
            ) c""",
        )
        # Six shift patterns, shifted by 0 to 2 hours per peer (not the whole-day windows).
        insert(
            cursor,
            AvailabilityWindow,
            {
                "peer_id": "p",
                "weekday": "s.d",
                "start": "CASE WHEN s.start = s.finish THEN s.start ELSE s.start + s.shift END",
                "end": "CASE WHEN s.start = s.finish THEN s.finish ELSE s.finish + s.shift END",
            },
            f"""FROM (
                SELECT p, d, start, finish, ((p / 6) %% 3) * interval '1 hour' AS shift
                FROM generate_series(1, {peers}) p
                JOIN (VALUES
                    (0, 0, time '09:00', time '17:00'), (0, 1, '09:00', '17:00'), (0, 2, '09:00', '17:00'),
                    (0, 3, '09:00', '17:00'), (0, 4, '09:00', '17:00'),
                    (1, 0, '13:00', '21:00'), (1, 1, '13:00', '21:00'), (1, 2, '13:00', '21:00'),
                    (1, 3, '13:00', '21:00'), (1, 4, '13:00', '21:00'),
                    (2, 5, '00:00', '00:00'), (2, 6, '00:00', '00:00'), (2, 2, '22:00', '06:00'),
                    (3, 1, '20:00', '08:00'), (3, 3, '20:00', '08:00'), (3, 5, '20:00', '08:00'),
                    (4, 0, '07:00', '15:00'), (4, 2, '07:00', '15:00'), (4, 4, '07:00', '15:00'),
                    (4, 5, '10:00', '14:00'),
                    (5, 1, '08:00', '20:00'), (5, 3, '08:00', '20:00'), (5, 6, '12:00', '22:00')
                ) w(pattern, d, start, finish) ON w.pattern = p %% 6
            ) s""",
        )
        # A fifth of the peers have one to three overrides from four days before the instant
        # to a day after, lasting 1 to 36 hours; some cover it, either way, newest wins.
        insert(
            cursor,
            AvailabilityOverride,
            {
                "peer_id": "o.g",
                "starts_at": "o.starts_at",
                "ends_at": "o.starts_at + (1 + (o.g + o.k * 5) %% 36) * interval '1 hour'",
                "is_available": "(o.g + o.k) %% 3 = 0",
                "source": "CASE WHEN o.k %% 2 = 0 THEN 'sms' ELSE 'supervisor' END",
                "created_at": "o.starts_at - interval '6 hours' + o.k * interval '1 minute'",
            },
            f"""FROM (
                SELECT g, k, {at} + ((g * 7 + k * 29) %% 120 - 96) * interval '1 hour' AS starts_at
                FROM generate_series(5, {peers}, 5) g
                CROSS JOIN LATERAL generate_series(0, (g / 5) %% 3) k
            ) o""",
        )
        # A week and more of past assignments: the fairness rule counts the last seven days.
        insert(
            cursor,
            PeerRequest,
            {
                "location_id": "1",
                "code": "lpad((h %% 10000)::text, 4, '0')",
                "need": "(ARRAY['substance_use', 'mental_health', 'co_occurring'])[1 + h %% 3]",
                "callback_contact": "'Charge nurse'",
                "status": "'assigned'",
                "created_at": "h.assigned_at - interval '10 minutes'",
                "selection_due_at": "h.assigned_at",
                "expires_at": "h.assigned_at + interval '20 minutes'",
                "assigned_peer_id": f"1 + (h * 7919) %% {peers}",
                "assigned_at": "h.assigned_at",
                "assignment_ended_at": "h.assigned_at + interval '1 hour'",
            },
            f"""FROM (
                SELECT h, {at} - (h %% 20160) * interval '1 minute' AS assigned_at
                FROM generate_series(1, {max(1, peers // 5)}) h
            ) h""",
        )
        for model in (
            County,
            Agency,
            Location,
            Peer,
            Credential,
            AvailabilityWindow,
            AvailabilityOverride,
            PeerRequest,
        ):
            generate_year._reset_sequence(cursor, model)

        serving = list(
            Agency.counties.through.objects.filter(county_id=REQUEST_COUNTY).values_list(
                "agency_id", flat=True
            )
        )
        PreferredAgency.objects.bulk_create(
            PreferredAgency(location_id=1, agency_id=agency_id, rank=rank)
            for rank, agency_id in enumerate(sorted(serving)[:3], start=1)
        )
        peer_request = PeerRequest.objects.create(
            location_id=1,
            code="4821",
            need=NEED,
            age_range="18_35",
            gender="female",
            callback_contact="Charge nurse",
            status="collecting",
            created_at=AT,
            selection_due_at=AT + dt.timedelta(minutes=10),
            expires_at=AT + dt.timedelta(minutes=30),
        )
        peer_request.languages.set([languages["es"]])
        # Alerts as submit_request sends them; YES from a spread of them (topped up with other
        # active peers if a small world has fewer eligible peers than responders).
        alerted = list(eligible_peers(need=NEED, county=REQUEST_COUNTY, at=AT).values_list("pk", flat=True))
        eligible = len(alerted)
        if eligible < responders:
            extra = Peer.objects.filter(is_active=True, opted_out_at__isnull=True).exclude(pk__in=alerted)
            alerted += list(extra.order_by("pk").values_list("pk", flat=True)[: responders - eligible])
        yes = set(sorted(alerted, key=lambda pk: (pk * 7919) % 10007)[:responders])
        Alert.objects.bulk_create(
            Alert(
                request=peer_request,
                peer_id=pk,
                created_at=AT,
                response="yes" if pk in yes else "",
                responded_at=AT + dt.timedelta(seconds=20 + pk % 560) if pk in yes else None,
            )
            for pk in alerted
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return World(
        peers=peers,
        agencies=agencies,
        windows=AvailabilityWindow.objects.count(),
        overrides=AvailabilityOverride.objects.count(),
        overrides_now=AvailabilityOverride.objects.filter(starts_at__lte=AT, ends_at__gt=AT).count(),
        credentials=Credential.objects.count(),
        serving_peers=Peer.objects.filter(agency_id__in=serving).count(),
        eligible=eligible,
        responders=len(yes),
    )


def _measure(world: World, *, repeat: int, explain: bool) -> dict[str, Timing]:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from matching.scoring import rank
    from peer_requests.candidates import rank_responders, request_profile, responder_candidates
    from peer_requests.models import PeerRequest
    from peers.selectors import eligible_peers

    peer_request = PeerRequest.objects.get(code="4821", status="collecting")
    choice = peer_request.selection_due_at

    def eligible() -> list:
        # A new queryset each run: an evaluated one would answer from its cache.
        return list(eligible_peers(need=NEED, county=REQUEST_COUNTY, at=AT).order_by("pk"))

    profile = request_profile(peer_request=peer_request)
    candidates = responder_candidates(peer_request=peer_request, now=choice)
    assert len(eligible()) == world.eligible and len(candidates) == world.responders
    timings = {
        # Exactly what submit_request evaluates.
        "eligibility": best_of(eligible, repeat=repeat),
        "ranking": best_of(lambda: rank_responders(peer_request=peer_request, now=choice), repeat=repeat),
        "loading": best_of(
            lambda: responder_candidates(peer_request=peer_request, now=choice), repeat=repeat
        ),
        "scoring": best_of(
            lambda: rank(profile, candidates, weights=settings.PEERRX_MATCH_WEIGHTS), repeat=repeat
        ),
    }
    if explain:
        with CaptureQueriesContext(connection) as captured:
            eligible()
            responder_candidates(peer_request=peer_request, now=choice)
        # The SQL as sent (parameters inlined): eligibility, then the three that load the responders.
        labels = (
            "eligible_peers",
            "YES responders with recent assignments",
            "their languages",
            "their credentials",
        )
        for label, query in zip(labels, captured.captured_queries, strict=True):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"\n-- {label}, {world.peers:,} peers\n{query['sql']}\n{plan}\n")
    return timings


def _verdict(seconds: float) -> tuple[str, str]:
    ratio = f"{seconds / TARGET_SECONDS:.2f}"
    if seconds < TARGET_SECONDS:
        return ratio, "met"
    return ratio, f"**missed by {(seconds - TARGET_SECONDS) * 1000:,.0f} ms**"


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--peers", type=int, default=50_000)
    parser.add_argument("--responders", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure; the best is kept")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the main queries")
    args = parser.parse_args()

    url = database_url()
    if not url.startswith("postgres"):
        raise SystemExit(
            "The matching benchmark needs PostgreSQL (BENCH_MATCHING_DATABASE_URL=postgres://...)."
        )
    started = time.perf_counter()
    generate_year._create_database(url, drop=True)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    server = server_version()
    print(f"database {url.rsplit('/', 1)[-1]} migrated in {time.perf_counter() - started:.1f} s")

    load_before = load_average()
    sizes = [(max(1, args.peers // 10), max(1, args.responders // 10)), (args.peers, args.responders)]
    results: list[tuple[World, dict[str, Timing], float]] = []
    for peers, responders in sizes:
        loading = time.perf_counter()
        world = _load(peers=peers, responders=responders)
        built = time.perf_counter() - loading
        print(
            f"{peers:,} peers in {world.agencies:,} agencies ({world.serving_peers:,} serve the request's "
            f"county), {world.credentials:,} credentials, {world.windows:,} weekly windows, "
            f"{world.overrides:,} overrides ({world.overrides_now:,} cover the instant); "
            f"{world.eligible:,} eligible, {world.responders:,} YES; built in {built:.1f} s",
            flush=True,
        )
        timings = _measure(world, repeat=args.repeat, explain=args.explain)
        for name, timing in timings.items():
            print(f"  {name:<12} {timing.best * 1000:8.1f} ms  {timing.queries} queries", flush=True)
        results.append((world, timings, built))
    load_after = load_average()

    rows = []
    for world, timings, _built in results:
        for key, label in (
            ("eligibility", "Eligibility (`eligible_peers`, as `submit_request` runs it)"),
            ("ranking", "Scoring the YES responders (`rank_responders`)"),
        ):
            timing = timings[key]
            ratio, verdict = _verdict(timing.best)
            size = f"{world.peers:,} peers"
            if key == "ranking":
                size = f"{world.responders:,} YES of {size}"
            rows.append(
                f"| {label} | {size} | {timing.best * 1000:,.1f} ms | {timing.queries} | 100 ms | {ratio} | "
                f"{verdict} |"
            )
        loading, scoring = timings["loading"], timings["scoring"]
        rows.append(
            f"| of which loading them (`responder_candidates`) and pure scoring (`scoring.rank`) | "
            f"{world.responders:,} YES | {loading.best * 1000:,.1f} + {scoring.best * 1000:,.1f} ms | "
            f"{loading.queries} + {scoring.queries} | – | – | |"
        )
    small, large = results[0][1], results[-1][1]
    constant = all(small[key].queries == large[key].queries for key in ("eligibility", "ranking"))
    counts = (
        f"Query counts at {results[0][0].peers:,} and {results[-1][0].peers:,} peers: eligibility "
        f"{small['eligibility'].queries} and {large['eligibility'].queries}, scoring "
        f"{small['ranking'].queries} and {large['ranking'].queries}"
        + (" (constant)." if constant else " (**not constant**).")
    )
    world = results[-1][0]
    command = "`make bench` or `.venv/bin/python bench/bench_matching.py`"
    if (args.peers, args.responders) != (50_000, 500):
        command = (
            f"`.venv/bin/python bench/bench_matching.py --peers {args.peers} --responders {args.responders}`"
        )
    body = "\n".join(
        [
            "## Eligibility and scoring among 50,000 peers",
            "",
            measured_on(
                command,
                loads=(load_before, load_after),
                stack=f", PostgreSQL {server} with its default configuration",
            ),
            "",
            f"Data (built in {results[-1][2]:.0f} s with `INSERT … SELECT`): {world.peers:,} peers in "
            f"{world.agencies:,} agencies across {COUNTIES} counties and 8 time zones, {world.credentials:,} "
            f"credentials, {world.windows:,} weekly windows and {world.overrides:,} availability overrides "
            f"({world.overrides_now:,} covering the request's instant). One co-occurring request at "
            f"{AT:%A %H:%M} New York time from a county served by {world.serving_peers:,} peers, "
            f"{world.eligible:,} of them eligible; {world.responders:,} of the alerted peers replied YES. "
            f"Each figure is the best of {args.repeat} runs; the smaller world is a tenth of the size.",
            "",
            "| step | size | best | queries | target | ratio | |",
            "|---|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
            counts,
        ]
    )
    publish("matching", body, no_doc=args.no_doc)


if __name__ == "__main__":
    main()
