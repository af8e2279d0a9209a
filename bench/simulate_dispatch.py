"""A month of dispatch, simulated with the real services and an injected clock.

    .venv/bin/python bench/simulate_dispatch.py
    .venv/bin/python bench/simulate_dispatch.py --seed 11 --days 30 --requests-per-day 6

What each adapting step buys: the same seeded month of requests and peers is dispatched five
times, with late joiners, the reminder and widening to backup agencies each off and on
(``PEERRX_ALERT_LATE_JOINERS``, ``PEERRX_REMINDER_SECONDS``, ``PEERRX_WIDEN_TO_BACKUP``), and
the fill rate and the median and 90th percentile time to assignment are compared.

The month: one emergency department in Orange County; two agencies serving the county with
12 peers each and one agency listing it as a backup county with 10 peers; every peer works
one 8-hour shift (night, day or evening) five days a week and holds CRPA, NYCPS or both;
some speak Spanish. Requests come at random times, for substance use (45 %), mental health
(35 %) or both (20 %), one in ten asking for Spanish. A peer reads an alert with the peer's
own odds (30–80 %), after a log-normal delay (median 3 minutes), and says YES with their own
odds (30–70 %), NO otherwise; a reminder gets a second, weaker chance (half the odds, median
90 s). Replies reach the services through the real SMS handling (a stored text handled by
``sms.services.handle_inbound_message``); the beat's work runs every 30 simulated seconds.

Nothing leaves the process: SQLite in a temporary directory, every run inside a transaction
rolled back at its end (so no task is ever enqueued). The figures replace the
``simulation`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

STEP = dt.timedelta(seconds=30)
START = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)  # a Monday, midnight in New York
SHIFTS = ((0, 8), (8, 16), (16, 24))


@dataclass(frozen=True)
class Config:
    name: str
    late_joiners: bool
    reminder: bool
    widen: bool


CONFIGS = (
    Config("every step off", late_joiners=False, reminder=False, widen=False),
    Config("late joiners on", late_joiners=True, reminder=False, widen=False),
    Config("reminder on", late_joiners=False, reminder=True, widen=False),
    Config("widening on", late_joiners=False, reminder=False, widen=True),
    Config("every step on", late_joiners=True, reminder=True, widen=True),
)


@dataclass
class Traits:
    reads: float
    says_yes: float


@dataclass
class Result:
    config: Config
    placed: int = 0
    filled: int = 0
    expired: int = 0
    waits: list[float] = field(default_factory=list)  # seconds from submit to assignment
    by_reach: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def percentile(self, fraction: float) -> float | None:
        from reporting.selectors import percentile_cont

        found = percentile_cont([(dt.timedelta(seconds=s), 1) for s in sorted(self.waits)], fraction)
        return found.total_seconds() if found is not None else None


# --- the world -----------------------------------------------------------------------------------


def build_world(rng: random.Random):
    """The location, the agencies and their peers; returns the location and each peer's traits."""
    from accounts.models import County
    from agencies.models import Agency
    from core.choices import AgeRange, Gender, OrganisationStatus
    from locations.models import Location
    from peers.models import AvailabilityWindow, Credential, CredentialType, Language, Peer

    orange = County.objects.create(name="Orange", state="NY")
    ulster = County.objects.create(name="Ulster", state="NY")
    location = Location.objects.create(
        name="Orange Regional ED",
        kind=Location.Kind.EMERGENCY_DEPARTMENT,
        address="707 East Main Street, Middletown, NY 10940",
        county=orange,
        notification_phone="+18455550100",
        status=OrganisationStatus.VERIFIED,
    )
    crpa, nycps = CredentialType.objects.get(code="CRPA"), CredentialType.objects.get(code="NYCPS")
    spanish = Language.objects.get(code="es")
    traits: dict[int, Traits] = {}
    phone = iter(range(100, 10_000))
    for name, serves, backup, size in (
        ("Hudson Valley Peer Services", orange, None, 12),
        ("Orange County Recovery Alliance", orange, None, 12),
        ("Ulster Peer Network", ulster, orange, 10),
    ):
        agency = Agency.objects.create(
            name=name,
            contact_name="Supervisor",
            phone=f"+1914555{next(phone):04d}",
            email="agency@example.org",
            status=OrganisationStatus.VERIFIED,
        )
        agency.counties.add(serves)
        if backup is not None:
            agency.backup_counties.add(backup)
        for i in range(size):
            peer = Peer.objects.create(
                agency=agency,
                first_name="Peer",
                last_name=f"{name.split()[0]} {i:02d}",
                phone=f"+1212555{next(phone):04d}",
                age_range=rng.choice(list(AgeRange.values)),
                gender=rng.choice(list(Gender.values)),
                consented_at=START - dt.timedelta(days=365),
            )
            held = rng.choices([(crpa,), (nycps,), (crpa, nycps)], weights=[4, 4, 2])[0]
            for kind in held:
                Credential.objects.create(
                    peer=peer,
                    type=kind,
                    number=f"{kind.code}-{peer.pk}",
                    issued_on=dt.date(2024, 1, 1),
                    status=Credential.Status.VALIDATED,
                )
            if rng.random() < 0.2:
                peer.languages.add(spanish)
            start, end = SHIFTS[i % 3]
            off = set(rng.sample(range(7), 2))
            for weekday in range(7):
                if weekday not in off:
                    AvailabilityWindow.objects.create(
                        peer=peer, weekday=weekday, start=dt.time(start), end=dt.time(end % 24)
                    )
            traits[peer.pk] = Traits(reads=rng.uniform(0.3, 0.8), says_yes=rng.uniform(0.3, 0.7))
    return location, traits


def plan_requests(rng: random.Random, *, days: int, per_day: int) -> list[tuple[dt.datetime, str, bool]]:
    from core.choices import Need

    plans = []
    for _ in range(days * per_day):
        at = START + dt.timedelta(seconds=rng.uniform(0, days * 86_400))
        need = rng.choices([Need.SUBSTANCE_USE, Need.MENTAL_HEALTH, Need.CO_OCCURRING], weights=[45, 35, 20])[
            0
        ]
        plans.append((at.replace(microsecond=0), need, rng.random() < 0.1))
    return sorted(plans)


# --- one run -------------------------------------------------------------------------------------


def _delay(rng: random.Random, median_seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=min(1800.0, rng.lognormvariate(math.log(median_seconds), 0.8)))


def run(config: Config, *, location, traits: dict[int, Traits], plans, seed: int) -> Result:
    """Dispatch the month once under ``config``, inside a transaction that is rolled back."""
    from django.conf import settings
    from django.db import transaction

    from peer_requests import services
    from peer_requests.models import ACTIVE_STATUSES, Alert, PeerRequest, RequestStatus
    from peers.models import Language
    from sms.models import InboundMessage
    from sms.services import handle_inbound_message

    settings.PEERRX_ALERT_LATE_JOINERS = config.late_joiners
    settings.PEERRX_REMINDER_SECONDS = 300 if config.reminder else 0
    settings.PEERRX_WIDEN_TO_BACKUP = config.widen
    spanish = Language.objects.get(code="es")
    result = Result(config=config)
    started = time.perf_counter()
    with transaction.atomic():
        replies: list[tuple[dt.datetime, int, str]] = []  # (received at, peer id, body)
        planned_alerts: set[int] = set()
        reminded: set[int] = set()
        sid = iter(range(1, 10**9))

        def plan(alert: Alert, *, at: dt.datetime, reminder: bool) -> None:
            peer = traits[alert.peer_id]
            reads = peer.reads / 2 if reminder else peer.reads
            # One draw per alert and occasion, so runs differ only where the steps differ.
            local = random.Random(f"{seed}:{alert.request_id}:{alert.peer_id}:{reminder}")
            if local.random() >= reads:
                return
            answer = "YES" if local.random() < peer.says_yes else "NO"
            received = at + _delay(local, 90 if reminder else 180)
            heapq.heappush(replies, (received, alert.peer_id, f"{answer} {alert.request.code}"))

        def plan_new(now: dt.datetime) -> None:
            live = Alert.objects.filter(request__status__in=ACTIVE_STATUSES).select_related("request")
            for alert in live.exclude(pk__in=planned_alerts):
                planned_alerts.add(alert.pk)
                plan(alert, at=alert.created_at, reminder=False)
            for alert in live.filter(reminded_at__isnull=False).exclude(pk__in=reminded):
                reminded.add(alert.pk)
                if alert.response == Alert.Response.NONE:
                    plan(alert, at=alert.reminded_at, reminder=True)

        phones = dict(location.county.agencies.values_list("peers__pk", "peers__phone"))
        phones |= dict(location.county.backup_agencies.values_list("peers__pk", "peers__phone"))
        now = plans[0][0]
        index = 0
        while index < len(plans) or PeerRequest.objects.filter(status__in=ACTIVE_STATUSES).exists():
            live = PeerRequest.objects.filter(status__in=ACTIVE_STATUSES).exists()
            if not live and not replies and index < len(plans) and now < plans[index][0]:
                now = plans[index][0]  # nothing happens in between but assignments ending
            while index < len(plans) and plans[index][0] <= now:
                at, need, wants_spanish = plans[index]
                services.submit_request(
                    location=location,
                    need=need,
                    callback_contact="Charge nurse",
                    languages=[spanish] if wants_spanish else [],
                    now=at,
                )
                index += 1
            plan_new(now)
            while replies and replies[0][0] <= now:
                received, peer_id, body = heapq.heappop(replies)
                text = InboundMessage.objects.create(
                    message_sid=f"SIM{next(sid):032d}",
                    from_number=str(phones[peer_id]),
                    body=body,
                    received_at=received,
                )
                handle_inbound_message(inbound_id=text.pk, now=now)
            services.complete_due_requests(now=now)
            services.end_assignments(now=now)
            services.alert_late_joiners(now=now)
            services.send_reminders(now=now)
            plan_new(now)
            now += STEP

        requests = PeerRequest.objects.all()
        result.placed = requests.count()
        result.expired = requests.filter(status=RequestStatus.EXPIRED).count()
        for created, assigned in requests.filter(status=RequestStatus.ASSIGNED).values_list(
            "created_at", "assigned_at"
        ):
            result.waits.append((assigned - created).total_seconds())
        result.filled = len(result.waits)
        for alert in Alert.objects.filter(is_assigned=True):
            reach = alert.wave
            if (
                alert.reminded_at is not None
                and alert.responded_at
                and alert.responded_at > alert.reminded_at
            ):
                reach = "reminder"
            result.by_reach[reach] = result.by_reach.get(reach, 0) + 1
        transaction.set_rollback(True)
    result.seconds = time.perf_counter() - started
    return result


# --- the report ----------------------------------------------------------------------------------


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def rows(results: list[Result]) -> list[str]:
    baseline = results[0]
    lines = []
    for r in results:
        rate = r.filled / r.placed if r.placed else 0.0
        gain = rate - (baseline.filled / baseline.placed if baseline.placed else 0.0)
        reach = ", ".join(
            f"{name} {r.by_reach.get(name, 0)}" for name in ("first", "late", "reminder", "widened")
        )
        lines.append(
            f"| {r.config.name} | {r.filled} of {r.placed} ({rate:.1%}) | "
            f"{'–' if r is baseline else f'{gain * 100:+.1f} points'} | {_minutes(r.percentile(0.5))} | "
            f"{_minutes(r.percentile(0.9))} | {r.expired} | {reach} |"
        )
    return lines


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests-per-day", type=int, default=6)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="peerrx-simulation-"))
    common.setup_django(f"sqlite:///{directory / 'simulation.sqlite3'}")
    from django.core.management import call_command
    from django.db import transaction

    load_before = common.load_average()
    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(args.seed)
    with transaction.atomic():
        location, traits = build_world(rng)
    plans = plan_requests(rng, days=args.days, per_day=args.requests_per_day)
    results = []
    for config in CONFIGS:
        result = run(config, location=location, traits=traits, plans=plans, seed=args.seed)
        results.append(result)
        median, p90 = _minutes(result.percentile(0.5)), _minutes(result.percentile(0.9))
        print(
            f"{config.name}: {result.filled}/{result.placed} filled, median {median}, p90 {p90}, "
            f"{result.seconds:.0f} s",
            flush=True,
        )
    load_after = common.load_average()

    command = "`.venv/bin/python bench/simulate_dispatch.py`"
    if (args.seed, args.days, args.requests_per_day) != (7, 30, 6):
        command = f"`.venv/bin/python bench/simulate_dispatch.py {' '.join(sys.argv[1:])}`"
    body = "\n".join(
        [
            "## Dispatch simulation: what each step buys",
            "",
            common.measured_on(command, loads=(load_before, load_after), run="the five runs"),
            "",
            f"A seeded month ({args.days} days, {len(plans)} requests, seed {args.seed}) dispatched by "
            "the real services with an injected clock, five times: every adapting step off, each one "
            "alone, and all of them (`bench/simulate_dispatch.py` describes the peers and their odds). "
            "The choice at 10 minutes and the first YES of an open request until 30 minutes are "
            'always on; a request that reaches nobody in time expires. "Filled by" counts the '
            "assigned peers by how they were reached.",
            "",
            "| run | filled | fill rate against every step off | median time to assignment "
            "| 90th percentile | expired | filled by: first wave, late joiner, reminder, widened |",
            "|---|---:|---:|---:|---:|---:|---|",
            *rows(results),
        ]
    )
    common.publish("simulation", body, no_doc=args.no_doc)


if __name__ == "__main__":
    main()
