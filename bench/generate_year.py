"""A year of statewide Peer-RX activity on PostgreSQL, for the report benchmark.

    .venv/bin/python bench/generate_year.py                  # 1,000,000 requests (skips if present)
    .venv/bin/python bench/generate_year.py --requests 200000 --force

Builds, in a dedicated database (``BENCH_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/peerrx_bench, created and migrated here): 62 counties,
100 locations, 40 agencies serving the counties of the locations they cover, 3,000 peers
(75 per agency) with weekly hours and languages, and one year of requests (2025-11-01 to
2026-10-31, New York time, both daylight-saving changes inside) with 3 to 7 alerts each
(5 on average), their replies and decline reasons, and one alert text per alert with a
delivery status.

Everything is set-based SQL (INSERT ... SELECT over generate_series) with a fixed random
seed. The bulk tables are loaded the way PostgreSQL likes it: secondary indexes dropped and
rebuilt afterwards, foreign-key triggers off for the load (the generator keeps every
reference valid), then VACUUM ANALYZE. A marker table records what was generated, so a
second run with the same size does nothing; a different size, or --force, rebuilds.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_database_url, setup_django

DEFAULT_REQUESTS = 1_000_000
COUNTIES, LOCATIONS, AGENCIES, PEERS_PER_AGENCY = 62, 100, 40, 75
YEAR_START, DAYS = "2025-11-01", 365
ZONE = "America/New_York"


def _maintenance_connection(url: str):
    import psycopg2

    parts = urlparse(url)
    conn = psycopg2.connect(urlunparse(parts._replace(path="/postgres")))
    conn.autocommit = True
    return conn, parts.path.lstrip("/")


def _create_database(url: str, *, drop: bool) -> None:
    conn, name = _maintenance_connection(url)
    with conn.cursor() as cursor:
        if drop:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _generated_size(url: str) -> int | None:
    import psycopg2

    try:
        conn = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return None
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_dataset')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT requests FROM bench_dataset WHERE name = 'year'")
        row = cursor.fetchone()
        # A year generated before requests had encounters (arrivals) is generated again.
        cursor.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'peer_requests_peerrequest' AND column_name = 'arrived_at'"
        )
        if cursor.fetchone() is None:
            row = None
        else:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM peer_requests_peerrequest WHERE arrived_at IS NOT NULL)"
            )
            row = row if cursor.fetchone()[0] else None
    conn.close()
    return row[0] if row else None


def _columns(model, given: dict[str, str]) -> tuple[str, str, list]:
    """Column list and SELECT list for an INSERT: ``given`` SQL for some columns, the model's
    default for the others, so a field another app adds later does not break the generator."""
    from django.db import connection
    from django.db.models import CharField, DateTimeField, TextField

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.column in given:
            columns.append(f'"{field.column}"')
            expressions.append(given[field.column])
            continue
        if field.null or field.primary_key:
            continue
        if field.has_default():
            value = field.get_db_prep_save(field.get_default(), connection)
            columns.append(f'"{field.column}"')
            expressions.append("%s")
            params.append(value)
        elif isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add):
            columns.append(f'"{field.column}"')
            expressions.append("now()")
        elif isinstance(field, (CharField, TextField)) and field.blank:
            columns.append(f'"{field.column}"')
            expressions.append("''")
        else:
            raise RuntimeError(f"bench/generate_year.py gives no value for {model.__name__}.{field.name}")
    return ", ".join(columns), ", ".join(expressions), params


def _insert(cursor, model, given: dict[str, str], from_sql: str, params: list | None = None) -> int:
    columns, expressions, default_params = _columns(model, given)
    # Defaults come first in the SELECT list, so their parameters precede the FROM clause's.
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({columns}) SELECT {expressions} {from_sql}",
        [*default_params, *(params or [])],
    )
    return cursor.rowcount


@contextlib.contextmanager
def _bulk_load(cursor, models):
    """Drop the tables' secondary indexes (not those backing constraints) and rebuild them after."""
    saved = []
    for model in models:
        cursor.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename = %s
              AND indexname NOT IN (
                SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass
              )
            """,
            [model._meta.db_table, model._meta.db_table],
        )
        saved.extend(cursor.fetchall())
    for name, _definition in saved:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")  # no FK triggers during the load
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
        for name, definition in saved:
            started = time.perf_counter()
            cursor.execute(definition)
            print(f"  index {name}: {time.perf_counter() - started:.1f} s")


# The two agencies covering a location, and the peer an alert goes to. Alert k of request g
# alternates between them; the offsets keep up to seven peers of one request distinct.
# Every statement is run with parameters, so SQL's modulo is written %%.
AGENCY_OF = "(CASE WHEN {k} %% 2 = 0 THEN ({loc} * 7) %% 40 ELSE ({loc} * 13 + 5) %% 40 END)"
# The request's assignment time and its encounter, as SQL over the generated row ``r``.
ASSIGNED_AT = (
    "(r.created_at + (CASE WHEN r.u_wait < 0.7 THEN 600 + r.u_wait * 40 "
    "ELSE 600 + (r.u_wait - 0.7) * 3900 END) * interval '1 second')"
)
ARRIVES = "(r.status = 'assigned' AND r.u_arrive < 0.92)"
ARRIVED_AT = f"({ASSIGNED_AT} + (5 + r.u_arrive / 0.92 * 60) * interval '1 minute')"
FINISHED_AT = f"({ARRIVED_AT} + (10 + r.u_stay * 80) * interval '1 minute')"
PEER_OF = "(" + AGENCY_OF + " * 75 + 1 + (({g} * 31 + {k} * 17) %% 75))"


def _stage(label: str):
    started = time.perf_counter()
    print(f"{label} ...", flush=True)
    return lambda rows: print(f"  {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def generate(*, requests: int) -> None:
    from django.db import connection, transaction

    from accounts.models import County
    from agencies.models import Agency
    from locations.models import Location
    from peer_requests.models import Alert, PeerRequest
    from peers.models import AvailabilityWindow, Language, Peer
    from sms.models import OutboundMessage

    languages = dict(Language.objects.values_list("code", "id"))
    other_languages = [languages[c] for c in ("zh", "ht", "ru", "bn", "ar", "ko", "fr", "pl", "yi", "ase")]
    PeerLanguage = Peer.languages.through
    RequestLanguage = PeerRequest.languages.through
    AgencyCounty = Agency.counties.through
    started = time.perf_counter()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")

        done = _stage("organisations, peers, weekly hours")
        rows = _insert(
            cursor,
            County,
            {"id": "g", "name": "'County ' || g", "state": "'NY'"},
            f"FROM generate_series(1, {COUNTIES}) g",
        )
        rows += _insert(
            cursor,
            Location,
            {
                "id": "g",
                "name": "'Location ' || g",
                "kind": "CASE WHEN g %% 3 = 0 THEN 'clinic' ELSE 'emergency_department' END",
                "address": "g || ' Main Street'",
                "county_id": f"1 + g %% {COUNTIES}",
                "timezone": f"'{ZONE}'",
                "notification_phone": "'+1845' || lpad(g::text, 7, '0')",
                "status": "'verified'",
            },
            f"FROM generate_series(1, {LOCATIONS}) g",
        )
        rows += _insert(
            cursor,
            Agency,
            {
                "id": "g",
                "name": "'Agency ' || g",
                "contact_name": "'Supervisor ' || g",
                "phone": "'+1914' || lpad(g::text, 7, '0')",
                "email": "'agency' || g || '@example.org'",
                "timezone": f"'{ZONE}'",
                "status": "'verified'",
            },
            f"FROM generate_series(1, {AGENCIES}) g",
        )
        # Each agency serves the counties of the locations it covers.
        rows += _insert(
            cursor,
            AgencyCounty,
            {"agency_id": "a.agency_id", "county_id": "a.county_id"},
            "FROM (SELECT DISTINCT 1 + " + AGENCY_OF.format(k="k", loc="l.id") + " AS agency_id, l.county_id"
            f" FROM {Location._meta.db_table} l CROSS JOIN generate_series(0, 1) k) a",
        )
        rows += _insert(
            cursor,
            Peer,
            {
                "id": "g",
                "agency_id": f"1 + (g - 1) / {PEERS_PER_AGENCY}",
                "first_name": "'Peer'",
                "last_name": "'Number ' || g",
                "phone": "'+1555' || lpad(g::text, 7, '0')",
                "age_range": "CASE WHEN random() < 0.55 THEN '18_35' ELSE '36_plus' END",
                "gender": "(ARRAY['female', 'male', 'non_binary'])"
                "[1 + (g %% 20 > 8)::int + (g %% 20 = 19)::int]",
                "is_active": "g %% 50 <> 0",
                "consented_at": f"timestamp '{YEAR_START}' AT TIME ZONE '{ZONE}'",
            },
            f"FROM generate_series(1, {AGENCIES * PEERS_PER_AGENCY}) g",
        )
        rows += _insert(
            cursor,
            PeerLanguage,
            {"peer_id": "p.id", "language_id": "p.language_id"},
            f"""FROM (
                SELECT id, %s AS language_id FROM {Peer._meta.db_table}
                UNION ALL SELECT id, %s FROM {Peer._meta.db_table} WHERE id %% 4 = 0
                UNION ALL SELECT id, (%s::int[])[1 + id %% {len(other_languages)}]
                  FROM {Peer._meta.db_table} WHERE id %% 10 = 3
            ) p""",
            [languages["en"], languages["es"], other_languages],
        )
        # Four patterns: day shift, evening shift, weekends plus a Wednesday night, three nights.
        rows += _insert(
            cursor,
            AvailabilityWindow,
            {"peer_id": "w.peer_id", "weekday": "w.weekday", "start": "w.start", "end": "w.finish"},
            f"""FROM (
                SELECT p.id AS peer_id, d AS weekday, s.start, s.finish
                FROM {Peer._meta.db_table} p
                JOIN (VALUES
                    (0, 0, time '09:00', time '17:00'), (0, 1, '09:00', '17:00'), (0, 2, '09:00', '17:00'),
                    (0, 3, '09:00', '17:00'), (0, 4, '09:00', '17:00'),
                    (1, 0, '13:00', '21:00'), (1, 1, '13:00', '21:00'), (1, 2, '13:00', '21:00'),
                    (1, 3, '13:00', '21:00'), (1, 4, '13:00', '21:00'),
                    (2, 5, '00:00', '00:00'), (2, 6, '00:00', '00:00'), (2, 2, '22:00', '06:00'),
                    (3, 1, '20:00', '08:00'), (3, 3, '20:00', '08:00'), (3, 5, '20:00', '08:00')
                ) s(pattern, d, start, finish) ON s.pattern = p.id %% 4
            ) w""",
        )
        done(rows)

        with _bulk_load(cursor, [PeerRequest, RequestLanguage, Alert, OutboundMessage]):
            done = _stage(f"{requests:,} requests")
            # Busier by day (70 % between 08:00 and 22:00), busier at the first locations.
            rows = _insert(
                cursor,
                PeerRequest,
                {
                    "id": "r.id",
                    "location_id": "r.location_id",
                    "code": "lpad((r.id %% 10000)::text, 4, '0')",
                    "need": "CASE WHEN r.u_need < 0.45 THEN 'substance_use' "
                    "WHEN r.u_need < 0.80 THEN 'mental_health' ELSE 'co_occurring' END",
                    "age_range": "CASE WHEN r.u_age < 0.15 THEN '18_35' "
                    "WHEN r.u_age < 0.25 THEN '36_plus' ELSE '' END",
                    "gender": "CASE WHEN r.u_gender < 0.12 THEN 'female' WHEN r.u_gender < 0.22 THEN 'male' "
                    "WHEN r.u_gender < 0.24 THEN 'non_binary' ELSE '' END",
                    "callback_contact": "'Charge nurse'",
                    "status": "r.status",
                    "created_at": "r.created_at",
                    "selection_due_at": "r.created_at + interval '10 minutes'",
                    "expires_at": "r.created_at + interval '30 minutes'",
                    "assigned_peer_id": "CASE WHEN r.status = 'assigned' THEN "
                    + PEER_OF.format(k="0", loc="r.location_id", g="r.id")
                    + " END",
                    "assigned_at": f"CASE WHEN r.status = 'assigned' THEN {ASSIGNED_AT} END",
                    # The encounter: on the way 2 minutes after assignment; 92 % arrive 5 to 65
                    # minutes later and stay 10 to 90 minutes; the others are closed automatically
                    # after 4 hours. Every one has ended (one live assignment per peer at most).
                    "on_way_at": f"CASE WHEN r.status = 'assigned' THEN {ASSIGNED_AT} "
                    "+ interval '2 minutes' END",
                    "arrived_at": f"CASE WHEN {ARRIVES} THEN {ARRIVED_AT} END",
                    "finished_at": f"CASE WHEN {ARRIVES} THEN {FINISHED_AT} "
                    f"WHEN r.status = 'assigned' THEN {ASSIGNED_AT} + interval '4 hours' END",
                    "assignment_ended_at": f"CASE WHEN {ARRIVES} THEN {FINISHED_AT} "
                    f"WHEN r.status = 'assigned' THEN {ASSIGNED_AT} + interval '4 hours' END",
                    "finished_how": f"CASE WHEN {ARRIVES} AND r.u_stay < 0.75 THEN 'peer' "
                    f"WHEN {ARRIVES} THEN 'location' WHEN r.status = 'assigned' THEN 'automatic' "
                    "ELSE '' END",
                    "encounter_outcome": f"CASE WHEN NOT ({ARRIVES}) THEN '' "
                    "WHEN r.u_outcome < 0.55 THEN 'engaged' WHEN r.u_outcome < 0.75 THEN 'declined' "
                    "WHEN r.u_outcome < 0.90 THEN 'referred' "
                    "WHEN r.u_outcome < 0.97 THEN 'left' ELSE '' END",
                    "naloxone_kit_given": f"CASE WHEN NOT ({ARRIVES}) OR r.u_outcome >= 0.97 THEN NULL "
                    "ELSE r.u_need < 0.45 AND r.u_outcome < 0.5 END",
                    "closed_at": "CASE WHEN r.status = 'assigned' THEN NULL "
                    "ELSE r.created_at + interval '30 minutes' END",
                },
                f"""FROM (
                    SELECT row_number() OVER (ORDER BY created_at) AS id, *,
                      CASE WHEN u_status < 0.80 THEN 'assigned' WHEN u_status < 0.93 THEN 'expired'
                           ELSE 'cancelled' END AS status
                    FROM (
                      SELECT random() AS u_status, random() AS u_need, random() AS u_age,
                        random() AS u_gender, random() AS u_wait, random() AS u_arrive,
                        random() AS u_stay, random() AS u_outcome,
                        1 + floor(power(random(), 1.6) * {LOCATIONS})::int AS location_id,
                        (timestamp '{YEAR_START}' + floor(random() * {DAYS}) * interval '1 day'
                          + (CASE WHEN random() < 0.7 THEN 28800 + random() * 50400 ELSE random() * 86400 END)
                            * interval '1 second') AT TIME ZONE '{ZONE}' AS created_at
                      FROM generate_series(1, %s)
                    ) raw
                ) r""",
                [requests],
            )
            done(rows)

            done = _stage("requested languages")
            rows = _insert(
                cursor,
                RequestLanguage,
                {"peerrequest_id": "r.id", "language_id": "r.language_id"},
                f"""FROM (
                    SELECT id, CASE WHEN random() < 0.6 THEN %s
                      ELSE (%s::int[])[1 + floor(random() * {len(other_languages)})::int] END AS language_id
                    FROM {PeerRequest._meta.db_table} WHERE random() < 0.12
                ) r""",
                [languages["es"], other_languages],
            )
            done(rows)

            done = _stage("alerts (3 to 7 per request)")
            reasons = "(ARRAY['with_another_person', 'in_transit', 'off_shift', 'personal', 'other'])"
            rows = _insert(
                cursor,
                Alert,
                {
                    "id": "a.request_id * 8 + a.k",
                    "request_id": "a.request_id",
                    "peer_id": PEER_OF.format(k="a.k", loc="a.location_id", g="a.request_id"),
                    "created_at": "a.created_at + a.k * interval '2 seconds'",
                    "response": "a.response",
                    "responded_at": "CASE WHEN a.response <> '' "
                    "THEN a.created_at + (20 + a.v * 580) * interval '1 second' END",
                    "decline_reason": f"CASE WHEN a.response = 'no' AND a.w >= 0.1 "
                    f"THEN {reasons}[1 + floor((a.w - 0.1) / 0.9 * 5)::int] ELSE '' END",
                    "is_assigned": "a.assigned",
                },
                f"""FROM (
                    SELECT *, CASE
                        WHEN assigned THEN 'yes'
                        WHEN status = 'expired' THEN CASE WHEN u < 0.35 THEN 'no' ELSE '' END
                        WHEN u < 0.18 THEN 'yes' WHEN u < 0.50 THEN 'no' ELSE '' END AS response
                    FROM (
                        SELECT r.id AS request_id, r.location_id, r.created_at, r.status, k,
                          r.status = 'assigned' AND k = 0 AS assigned,
                          random() AS u, random() AS v, random() AS w
                        FROM {PeerRequest._meta.db_table} r
                        CROSS JOIN LATERAL generate_series(0, 2 + r.id %% 5) k
                    ) x
                ) a""",
            )
            done(rows)

            done = _stage("alert texts")
            rows = _insert(
                cursor,
                OutboundMessage,
                {
                    "id": "a.id",
                    "to": "'+1555' || lpad(a.peer_id::text, 7, '0')",
                    "body": "'Peer-RX: a peer is needed nearby. Reply YES ' || r.code || ' or NO ' || r.code",
                    "kind": "'alert'",
                    "peer_id": "a.peer_id",
                    "alert_id": "a.id",
                    "request_id": "a.request_id",
                    "status": "CASE WHEN x.u < 0.92 THEN 'delivered' WHEN x.u < 0.96 THEN 'sent' "
                    "WHEN x.u < 0.98 THEN 'undelivered' ELSE 'failed' END",
                    "provider_sid": "'SM' || lpad(a.id::text, 32, '0')",
                    "attempts": "1",
                    "next_attempt_at": "a.created_at",
                    "valid_until": "a.created_at + interval '30 minutes'",
                    "created_at": "a.created_at",
                    "sent_at": "a.created_at + interval '1 second'",
                    "status_updated_at": "a.created_at + interval '5 seconds'",
                },
                f"""FROM {Alert._meta.db_table} a
                JOIN {PeerRequest._meta.db_table} r ON r.id = a.request_id
                CROSS JOIN LATERAL (SELECT random() + 0 * a.id AS u) x""",
            )
            done(rows)

        for model in (County, Location, Agency, AgencyCounty, Peer, PeerLanguage, AvailabilityWindow):
            _reset_sequence(cursor, model)
        for model in (PeerRequest, RequestLanguage, Alert, OutboundMessage):
            _reset_sequence(cursor, model)
        cursor.execute(
            "CREATE TABLE bench_dataset (name text PRIMARY KEY, requests integer NOT NULL, "
            "alerts integer NOT NULL, generated_at timestamptz NOT NULL, seconds real NOT NULL)"
        )
        cursor.execute(f"SELECT count(*) FROM {Alert._meta.db_table}")
        alerts = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO bench_dataset VALUES ('year', %s, %s, now(), %s)",
            [requests, alerts, time.perf_counter() - started],
        )

    done = _stage("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    done(0)
    print(f"generated {requests:,} requests and {alerts:,} alerts in {time.perf_counter() - started:.0f} s")


def _reset_sequence(cursor, model) -> None:
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"
    )


def ensure(*, requests: int = DEFAULT_REQUESTS, force: bool = False, url: str | None = None) -> str:
    """Make sure the benchmark database holds a year of ``requests``; set Django up on it."""
    url = url or bench_database_url()
    if not url.startswith("postgres"):
        raise SystemExit("The report benchmark needs PostgreSQL (BENCH_DATABASE_URL=postgres://...).")
    present = None if force else _generated_size(url)
    fresh = present != requests
    if fresh:
        _create_database(url, drop=True)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if fresh:
        generate(requests=requests)
    else:
        name = urlparse(url).path.lstrip("/")
        print(f"{name} already holds a year of {requests:,} requests (--force rebuilds)")
    # What the beat keeps up to date in production: the hourly rollups the reports read.
    from reporting import rollups

    started = time.perf_counter()
    rows = rollups.catch_up()
    print(f"report rollups: {rows:,} agency-hours written in {time.perf_counter() - started:.1f} s")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="requests in the year")
    parser.add_argument("--force", action="store_true", help="rebuild even if the data is there")
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL or peerrx_bench")
    args = parser.parse_args()
    ensure(requests=args.requests, force=args.force, url=args.database_url)


if __name__ == "__main__":
    main()
