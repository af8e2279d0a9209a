"""A burst of YES replies: from the webhook's 200 to the answer handed to Twilio, on one worker.

    .venv/bin/python bench/bench_replies.py                       # 500 replies in 1 s: 50 requests x 10
    .venv/bin/python bench/bench_replies.py --requests 500 --peers-per-request 1
    .venv/bin/python bench/bench_replies.py --profile 300 --no-doc  # and where the worker's time goes

Builds its own database (``BENCH_REPLIES_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/peerrx_bench_replies, dropped, created and migrated here):
one verified location and agency, ``--requests`` requests still collecting replies, each with
``--peers-per-request`` alerted peers, and one signed reply per peer as Twilio sends it
("YES <code>", a distinct MessageSid, X-Twilio-Signature over the public URL). Serves Peer-RX
with gunicorn (three sync workers, as the Procfile) and production settings, Redis as the
broker (``BENCH_REPLIES_REDIS_URL``, default db 13, flushed before and after), one Celery worker
(``--pool=threads --concurrency=8``) and the Twilio SDK pointed at ``tests/fake_twilio.py``.
Every reply is posted within ``--seconds`` (1 s), evenly spread, from 32 client threads.

For each reply: the time from the webhook's 200 to the call that hands its answer ("you're in
the running") to the fake Twilio, p50 / p99 / max; the worker's CPU per reply (handling the
text and sending its answer); and the checks: every reply stored once, handled once, its alert
answered once, one answer queued and one sent per peer. ``--profile N`` then handles N more
stored replies in this process under pyinstrument and counts their SQL statements. Target: p99
under 2 s. Replaces the ``replies`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import http.client
import math
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_inbound import _cpu_seconds, _phone, gunicorn
from bench.common import (
    CeleryProcess,
    argument_parser,
    clean_up,
    database_name,
    emergency_department,
    exit_on_sigterm,
    flush_redis,
    load_average,
    measured_on,
    percentile,
    production_env,
    publish,
    recreate_database,
    server_version,
    setup_django,
)
from tests.fake_twilio import TEST_MESSAGING_SERVICE_SID, FakeTwilio

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerrx_bench_replies"
OWNED_DATABASES = "peerrx_bench_replies"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
TARGET_P99_SECONDS = 2.0
PUBLIC_BASE_URL = "https://peer-rx.example.org"
PUBLIC_HOST = "peer-rx.example.org"
OUR_NUMBER = "+15005550006"
INBOUND_PATH = "/sms/inbound/"
WEB_WORKERS = 3  # the Procfile's default
WORKER_CONCURRENCY = 8  # the Procfiles' worker
CLIENT_THREADS = 32


@dataclass(frozen=True)
class Reply:
    sid: str
    phone: str
    body: str  # the form body Twilio posts
    signature: str


def build_world(
    *, requests: int, peers_per_request: int, first_phone: int = 0, now: dt.datetime
) -> list[Reply]:
    """Requests collecting replies, their alerted peers, and one signed "YES <code>" from each."""
    from django.conf import settings

    from agencies.models import Agency
    from core.choices import Need, OrganisationStatus
    from locations.models import Location
    from peer_requests.models import Alert, PeerRequest, RequestStatus
    from peers.models import Peer
    from sms import transport

    location = Location.objects.first() or emergency_department()
    agency = Agency.objects.filter(name="Hudson Valley Peer Services").first()
    if agency is None:
        agency = Agency.objects.create(
            name="Hudson Valley Peer Services",
            contact_name="Dana Reyes",
            phone="+18455550101",
            email="dispatch@example.org",
            status=OrganisationStatus.VERIFIED,
        )
        agency.counties.add(location.county)
    count = requests * peers_per_request
    peers = Peer.objects.bulk_create(
        Peer(
            agency=agency,
            first_name=f"Peer{n}",
            last_name="Bench",
            phone=_phone(n),
            consented_at=now - dt.timedelta(days=365),
        )
        for n in range(first_phone, first_phone + count)
    )
    first_code = 1000 + PeerRequest.objects.count()
    request_rows = PeerRequest.objects.bulk_create(
        PeerRequest(
            location=location,
            code=str(first_code + i),
            need=Need.SUBSTANCE_USE,
            callback_contact="Charge nurse, ext. 4410",
            status=RequestStatus.COLLECTING,
            created_at=now,
            # Far off: the burst lands inside the collecting window, no choice joins it.
            selection_due_at=now + dt.timedelta(seconds=settings.PEERRX_SELECTION_SECONDS),
            expires_at=now + dt.timedelta(seconds=settings.PEERRX_EXPIRY_SECONDS),
        )
        for i in range(requests)
    )
    Alert.objects.bulk_create(
        Alert(request=request_rows[n // peers_per_request], peer=peer, created_at=now, rank=n % 10 + 1)
        for n, peer in enumerate(peers)
    )
    url = f"{PUBLIC_BASE_URL}{INBOUND_PATH}"
    replies = []
    for n, peer in enumerate(peers):
        sid = f"SMbenchreplies{first_phone + n:018d}"
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": f"YES {request_rows[n // peers_per_request].code}",
            "To": OUR_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": str(peer.phone),
            "ApiVersion": "2010-04-01",
        }
        replies.append(
            Reply(
                sid=sid,
                phone=str(peer.phone),
                body=urlencode(params),
                signature=transport.sign(url=url, params=params),
            )
        )
    # Interleaved, as a fan-out's replies arrive: not ten to one request in a row.
    return [replies[j * peers_per_request + k] for k in range(peers_per_request) for j in range(requests)]


# --- The burst -------------------------------------------------------------------------------------


@dataclass
class Posted:
    ok_at: dict[str, float]  # MessageSid -> monotonic time its 200 arrived
    failures: list[str]
    first: float
    last: float


def post_burst(replies: list[Reply], *, port: int, seconds: float, threads: int = CLIENT_THREADS) -> Posted:
    """Post every reply, reply i at ``i * seconds / n`` after the start, from ``threads`` threads."""
    ok_at: dict[str, float] = {}
    failures: list[str] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    spacing = seconds / max(1, len(replies))

    def send(share: list[tuple[int, Reply]]) -> None:
        for i, reply in share:
            delay = start + i * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(
                    "POST",
                    INBOUND_PATH,
                    body=reply.body,
                    headers={
                        "Host": PUBLIC_HOST,
                        "X-Forwarded-Proto": "https",
                        "X-Twilio-Signature": reply.signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                status = conn.getresponse().status
                done = time.monotonic()
                conn.close()
            except OSError as exc:
                with lock:
                    failures.append(f"{reply.sid}: {exc}")
                continue
            with lock:
                if status == 200:
                    ok_at[reply.sid] = done
                else:
                    failures.append(f"{reply.sid}: HTTP {status}")

    shares = [list(enumerate(replies))[k::threads] for k in range(threads)]
    workers = [threading.Thread(target=send, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    times = sorted(ok_at.values())
    return Posted(
        ok_at=ok_at,
        failures=failures,
        first=times[0] if times else math.nan,
        last=times[-1] if times else math.nan,
    )


@dataclass(frozen=True)
class Latency:
    n: int
    p50: float
    p99: float
    max: float
    missing: int  # replies whose answer never reached the fake

    @classmethod
    def of(cls, ok_at: dict[str, float], answered_at: dict[str, float]) -> Latency:
        """From each reply's 200 to its answer's call; ``answered_at`` by MessageSid."""
        seconds = [answered_at[sid] - at for sid, at in ok_at.items() if sid in answered_at]
        return cls(
            n=len(seconds),
            p50=percentile(seconds, 0.50),
            p99=percentile(seconds, 0.99),
            max=max(seconds, default=math.nan),
            missing=len(ok_at) - len(seconds),
        )


@dataclass(frozen=True)
class Breakdown:
    """Where the time between the 200 and the answer went (p50 and p99 of each leg, seconds)."""

    queued: tuple[float, float]  # the 200 to the worker starting to handle the text
    handled: tuple[float, float]  # handling started to the answer handed to the fake Twilio


def breakdown(ok_at: dict[str, float], answers: dict[str, float]) -> Breakdown:
    from sms.models import InboundMessage

    # Monotonic times in this process against the rows' wall-clock times: one offset.
    offset = time.time() - time.monotonic()
    handled = dict(
        InboundMessage.objects.filter(message_sid__in=list(ok_at)).values_list("message_sid", "handled_at")
    )
    queued = [handled[sid].timestamp() - offset - at for sid, at in ok_at.items() if handled.get(sid)]
    sending = [answers[sid] - (handled[sid].timestamp() - offset) for sid in answers if handled.get(sid)]
    return Breakdown(
        queued=(percentile(queued, 0.5), percentile(queued, 0.99)),
        handled=(percentile(sending, 0.5), percentile(sending, 0.99)),
    )


def answered_at(fake: FakeTwilio, replies: list[Reply]) -> dict[str, float]:
    """When the fake Twilio took each reply's answer: the first accepted call to that peer."""
    first_call: dict[str, float] = {}
    for call in fake.calls:
        if call.outcome == "ok" and call.to not in first_call:
            first_call[call.to] = call.started
    return {reply.sid: first_call[reply.phone] for reply in replies if reply.phone in first_call}


@dataclass(frozen=True)
class Checks:
    replies: int
    stored: int
    handled: int
    yes_alerts: int
    answers_queued: int
    answers_sent: int  # accepted calls to the fake
    peers_answered_twice: int

    @property
    def ok(self) -> bool:
        n = self.replies
        return (self.stored, self.handled, self.yes_alerts, self.answers_queued, self.answers_sent) == (
            n,
            n,
            n,
            n,
            n,
        ) and not self.peers_answered_twice


def check(fake: FakeTwilio, replies: list[Reply]) -> Checks:
    from peer_requests.models import Alert
    from sms.models import InboundMessage, OutboundMessage

    sids = [reply.sid for reply in replies]
    calls = Counter(call.to for call in fake.calls if call.outcome == "ok")
    return Checks(
        replies=len(replies),
        stored=InboundMessage.objects.filter(message_sid__in=sids).count(),
        handled=InboundMessage.objects.filter(message_sid__in=sids, handled_at__isnull=False).count(),
        yes_alerts=Alert.objects.filter(
            peer__phone__in=[r.phone for r in replies], response=Alert.Response.YES
        ).count(),
        answers_queued=OutboundMessage.objects.filter(
            kind="reply", to__in=[r.phone for r in replies]
        ).count(),
        answers_sent=sum(calls[reply.phone] for reply in replies),
        peers_answered_twice=sum(1 for reply in replies if calls[reply.phone] > 1),
    )


def wait_for_answers(fake: FakeTwilio, replies: list[Reply], worker: CeleryProcess, timeout: float) -> None:
    phones = {reply.phone for reply in replies}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.alive():
            raise RuntimeError(f"the worker exited:\n{worker.tail()}")
        if phones <= {call.to for call in fake.calls if call.outcome == "ok"}:
            return
        time.sleep(0.1)


# --- The profile -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    replies: int
    ms_per_reply: float
    cpu_ms_per_reply: float
    statements: float  # per reply: handling the text, queueing and sending its answer
    sent: int
    text: str  # pyinstrument's tree


def profile_replies(replies: list[Reply]) -> Profile:
    """Store, handle and deliver ``replies`` in this process, as the worker does, under pyinstrument."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    from sms import services
    from sms.models import OutboundMessage

    now = dt.datetime.now(dt.UTC)
    ids = []
    for reply in replies:
        params = dict(parse_qsl(reply.body))
        stored, _ = services.receive_inbound(
            message_sid=reply.sid, from_number=reply.phone, body=params["Body"], now=now
        )
        ids.append(stored.pk)
    # pyinstrument samples wall time (where a reply waits: PostgreSQL round trips on a busy
    # machine); CPU seconds are counted beside it, the worker's cost.
    profiler = Profiler(interval=0.001)
    handle_queries = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    profiler.start()
    for inbound_id in ids:
        with CaptureQueriesContext(connection) as handled:
            services.handle_inbound_message(inbound_id=inbound_id, send_answer=True)
        handle_queries += len(handled.captured_queries)
    profiler.stop()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    sent = OutboundMessage.objects.filter(
        kind="reply", status="sent", to__in=[r.phone for r in replies]
    ).count()
    return Profile(
        replies=len(ids),
        ms_per_reply=seconds * 1000 / max(1, len(ids)),
        cpu_ms_per_reply=cpu * 1000 / max(1, len(ids)),
        statements=handle_queries / max(1, len(ids)),
        sent=sent,
        text=profiler.output_text(unicode=False, color=False, show_all=False),
    )


# --- The report ----------------------------------------------------------------------------------------


def verdict(p99: float) -> str:
    if p99 < TARGET_P99_SECONDS:
        return "met"
    return f"**missed by {p99 - TARGET_P99_SECONDS:.2f} s ({p99 / TARGET_P99_SECONDS:.1f}×)**"


def report(
    *,
    args,
    posted: Posted,
    latency: Latency,
    checks: Checks,
    worker_cpu: float,
    drained: float,
    legs: Breakdown,
    profile: Profile | None,
    loads: tuple[str, str],
    server: str,
) -> str:
    n = checks.replies
    command = "`.venv/bin/python bench/bench_replies.py`"
    if (args.requests, args.peers_per_request, args.seconds) != (50, 10, 1.0):
        command = (
            f"`.venv/bin/python bench/bench_replies.py --requests {args.requests} "
            f"--peers-per-request {args.peers_per_request} --seconds {args.seconds:g}`"
        )
    lines = [
        "## A burst of YES replies on one worker",
        "",
        measured_on(command, loads=loads, stack=f", PostgreSQL {server}"),
        "",
        f'{n:,} signed "YES <code>" replies from the peers alerted for {args.requests:,} requests still '
        f"collecting replies ({args.peers_per_request} each), posted to `/sms/inbound/` within "
        f"{args.seconds:g} s (evenly spread, {CLIENT_THREADS} client threads; the 200s came over "
        f"{posted.last - posted.first:.2f} s) on gunicorn ({WEB_WORKERS} sync workers, production "
        f"settings), Redis as the broker, one Celery worker (`--pool=threads "
        f"--concurrency={WORKER_CONCURRENCY}`) and the "
        "Twilio SDK pointed at `tests/fake_twilio.py` (no latency). Each reply: the webhook stores it and "
        "enqueues `sms.tasks.handle_inbound`; the worker records the YES and queues the answer (\"you're in "
        'the running") and, once that commits, hands it to Twilio itself (its queued `send_message` '
        "task is the fallback). Latency: the webhook's 200 to the fake Twilio's call for that peer, on "
        "one clock.",
        "",
        "| figure | value | target | |",
        "|---|---:|---:|---|",
        f"| 200 to answer sent, p50 | {latency.p50:.2f} s | – | |",
        f"| 200 to answer sent, p99 | {latency.p99:.2f} s | under {TARGET_P99_SECONDS:g} s "
        f"| {verdict(latency.p99)} |",
        f"| 200 to answer sent, max | {latency.max:.2f} s | – | |",
        f"| … the 200 to the worker handling the text, p50 / p99 "
        f"| {legs.queued[0]:.2f} / {legs.queued[1]:.2f} s "
        "| – | |",
        f"| … handling started to the answer sent, p50 / p99 "
        f"| {legs.handled[0]:.2f} / {legs.handled[1]:.2f} s "
        "| – | |",
        f"| first 200 to last answer sent | {drained:.2f} s | – | |",
        f"| worker CPU per reply (handling and sending) | {worker_cpu * 1000 / max(1, n):.1f} ms | – | |",
        f"| stored once, handled once, alert answered once | {checks.stored:,} / {checks.handled:,} / "
        f"{checks.yes_alerts:,} of {n:,} | all | {'met' if checks.ok else '**missed**'} |",
        f"| answers queued, sent (to distinct peers) | {checks.answers_queued:,}, {checks.answers_sent:,} "
        f"({checks.peers_answered_twice} twice) | one each | {'met' if checks.ok else '**missed**'} |",
    ]
    if posted.failures:
        lines += ["", f"Webhook failures: {len(posted.failures)} (first: {posted.failures[0]})."]
    if profile is not None:
        lines += [
            "",
            f"In this process, {profile.replies:,} more replies handled one after another as the "
            f"worker's task does (`handle_inbound_message(send_answer=True)`, without Celery; "
            f"{profile.sent:,} answers sent): {profile.ms_per_reply:.1f} ms a reply "
            f"({profile.cpu_ms_per_reply:.1f} ms of CPU), "
            f"{profile.statements:.1f} SQL statements to handle one, queue and send its answer.",
        ]
    return "\n".join(lines)


# --- Main ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--requests", type=int, default=50, help="requests collecting replies (default 50)")
    parser.add_argument("--peers-per-request", type=int, default=10, help="alerted peers each (default 10)")
    parser.add_argument("--seconds", type=float, default=1.0, help="the burst's length (default 1 s)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile N more replies in-process"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every answer")
    parser.add_argument("--keep", action="store_true", help="leave the database and the logs")
    args = parser.parse_args()
    if not 0 < args.requests * args.peers_per_request <= 20_000:
        parser.error("--requests × --peers-per-request: 1 to 20,000")
    exit_on_sigterm()

    database_url = os.environ.get("BENCH_REPLIES_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REPLIES_REDIS_URL", DEFAULT_REDIS_URL)
    dbname = database_name(database_url)
    if not dbname.startswith(OWNED_DATABASES):
        parser.error(f"BENCH_REPLIES_DATABASE_URL must name a database {OWNED_DATABASES}*: it is dropped")
    workdir = Path(tempfile.mkdtemp(prefix="peerrx-bench-replies-"))
    (workdir / "var" / "staticfiles").mkdir(parents=True)
    fake = FakeTwilio().start()
    env = production_env(
        database_url=database_url,
        broker_url=redis_url,
        var_dir=workdir / "var",
        ALLOWED_HOSTS=PUBLIC_HOST,
        DB_CONN_MAX_AGE="60",
        TRUST_X_FORWARDED_PROTO="true",
        SECURE_SSL_REDIRECT="true",
        PEERRX_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        TWILIO_MESSAGING_SERVICE_SID=TEST_MESSAGING_SERVICE_SID,
        TWILIO_FROM_NUMBER="",
        TWILIO_API_BASE_URL=fake.base_url,
        PEERRX_SELECTION_SECONDS="3600",
        PEERRX_EXPIRY_SECONDS="7200",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    os.environ.update(env)
    worker_env = dict(os.environ)
    server_env = worker_env | {"DJANGO_SETTINGS_MODULE": "bench.inbound_site"}
    worker = None
    try:
        recreate_database(database_url, OWNED_DATABASES)
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        now = dt.datetime.now(dt.UTC)
        replies = build_world(requests=args.requests, peers_per_request=args.peers_per_request, now=now)
        extra = (
            build_world(requests=args.profile, peers_per_request=1, first_phone=len(replies), now=now)
            if args.profile
            else []
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        server = server_version()
        flush_redis(redis_url)
        loads = [load_average()]
        worker = CeleryProcess.worker(
            name="bench-replies", concurrency=WORKER_CONCURRENCY, env=worker_env, log=workdir / "worker.log"
        )
        worker.wait_ready()
        with gunicorn(env=server_env, workers=WEB_WORKERS, threads=1, logs=workdir) as (port, _pid):
            cpu_before = _cpu_seconds(worker.pid)
            posted = post_burst(replies, port=port, seconds=args.seconds)
            wait_for_answers(fake, replies, worker, timeout=args.timeout)
            worker_cpu = _cpu_seconds(worker.pid) - cpu_before
        answers = answered_at(fake, replies)
        latency = Latency.of(posted.ok_at, answers)
        drained = max(answers.values(), default=math.nan) - posted.first
        time.sleep(0.5)  # a duplicate answer would land now
        checks = check(fake, replies)
        legs = breakdown(posted.ok_at, answers)
        worker.stop()
        loads.append(load_average())
        print(f"p50 {latency.p50:.2f} s, p99 {latency.p99:.2f} s, max {latency.max:.2f} s; {checks}; {legs}")
        profile = None
        if extra:
            os.environ["SMS_BACKEND"] = "twilio"
            profile = profile_replies(extra)
            print(profile.text)
        body = report(
            args=args,
            posted=posted,
            latency=latency,
            checks=checks,
            worker_cpu=worker_cpu,
            drained=drained,
            legs=legs,
            profile=profile,
            loads=(loads[0], loads[1]),
            server=server,
        )
        publish("replies", body, no_doc=args.no_doc)
        if not checks.ok:
            print(worker.tail())
            raise SystemExit(1)
    finally:
        if worker is not None:
            worker.stop()
        fake.stop()
        clean_up(
            database_url=database_url,
            owned_prefix=OWNED_DATABASES,
            redis_url=redis_url,
            workdir=workdir,
            keep=args.keep,
            kept=f"database {dbname}, logs in {workdir}",
        )


if __name__ == "__main__":
    main()
