"""The inbound SMS webhook under load: signed Twilio replies through gunicorn and PostgreSQL,
then one Celery worker handling them.

    .venv/bin/python bench/bench_inbound.py                  # needs wrk: apt-get install wrk
    .venv/bin/python bench/bench_inbound.py --duration 30 --workers 5 --threads 1
    .venv/bin/python bench/bench_inbound.py --keep --no-doc  # keep the database and the logs

Builds its own database (``BENCH_INBOUND_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/peerrx_bench_inbound, dropped, created and migrated here):
one verified location and agency, ``--peers`` peers, five per request, each alerted for one
request still collecting replies, and one webhook per peer as Twilio sends it (its usual
parameters, a distinct MessageSid, a bare "YES" or "NO", X-Twilio-Signature over the public
URL). Then serves Peer-RX with gunicorn and production settings: DEBUG off, persistent
PostgreSQL connections (``DB_CONN_MAX_AGE``), Celery's broker on Redis
(``BENCH_INBOUND_REDIS_URL``, default db 11, flushed before and after), HTTPS redirect on
behind a proxy that says ``X-Forwarded-Proto: https``, access log on. wrk drives it over
loopback at 32 concurrent connections, first a trivial view on the same server
(``bench/inbound_site.py``), then ``POST /sms/inbound/``, each after a warm-up.

The webhook only stores the text (``InboundMessage``) and enqueues ``sms.tasks.handle_inbound``
on commit; no worker runs during the load, so the bench then checks that every MessageSid
sent was stored exactly once with one task waiting for it. gunicorn stops, one Celery worker
process starts (``--pool=threads --concurrency=8``, as in the Procfiles) and the bench times
how long it takes to handle every stored text (find the peer, parse the reply, record the YES
or NO, queue the answer). Finally: every text handled, each alert answered at most once, one
answer queued per text the handler answered.

Prints requests per second, p50 / p99 / max latency, errors, and the CPU used meanwhile by
gunicorn, its PostgreSQL backends and wrk itself (all share the same cores), the worker's
drain, and what an empty webhook would cost (an INSERT and a publish, timed in this process),
then replaces the ``inbound`` section of docs/benchmarks.md. Targets: at least 60 %
of the trivial view's throughput, p99 under 100 ms, and every reply stored exactly once.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    production_env,
    publish,
    recreate_database,
    server_version,
    setup_django,
    spawn,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/peerrx_bench_inbound"
OWNED_DATABASES = "peerrx_bench_inbound"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
CONCURRENCY = 32
TARGET_RATIO = 0.60
TARGET_P99_MS = 100.0
PEERS_PER_REQUEST = 5  # the year of data alerts 3 to 7 peers per request
# The public side as Twilio sees it: HTTPS on a host name, terminated by a proxy in front.
PUBLIC_BASE_URL = "https://peer-rx.example.org"
PUBLIC_HOST = "peer-rx.example.org"
OUR_NUMBER = "+15005550006"
AUTH_TOKEN = "bench0123456789abcdef0123456789ab"  # noqa: S105 - stands for the Twilio auth token
TRIVIAL_PATH = "/bench/trivial/"
INBOUND_PATH = "/sms/inbound/"
HANDLE_TASK = "sms.tasks.handle_inbound"
WORKER_CONCURRENCY = 8  # the Procfiles' worker
FLOOR_CALLS = 2000  # INSERTs and publishes timed for the empty webhook's cost
# Webhooks kept for the warm-up, the rest for the measured load; a thread that runs out sends
# duplicates. One worker then handles every stored text (~70 a second on 2 busy cores): the
# default load (10 s, 20,000 peers) leaves room for 1,300 webhooks a second, and at 700 a second
# the drain takes about two minutes.
WARM_WEBHOOKS = 4000

# Cycles through pre-signed requests, one per line: path, signature ("-": none), body, tab-separated.
# Each wrk thread takes every n-th line and counts the requests it generates, so the bench
# knows exactly which MessageSids went out; past its last line a thread starts over (duplicates).
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads, host = tonumber(args[2]), args[3]
  queue, sent = {}, 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then
      local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {
        ["Host"] = host,
        ["X-Forwarded-Proto"] = "https",
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["User-Agent"] = "TwilioProxy/1.1",
      }
      if signature ~= "-" then headers["X-Twilio-Signature"] = signature end
      table.insert(queue, wrk.format("POST", path, headers, body))
    end
    n = n + 1
  end
end

function request()
  if id == 0 and not checked then  -- wrk calls it once on the first thread to check it: not sent
    checked = true
    return queue[1]
  end
  sent = sent + 1
  return queue[(sent - 1) % #queue + 1]
end

function done(summary, latency, requests)
  local sent = {}
  for _, thread in ipairs(threads) do table.insert(sent, tostring(thread:get("sent"))) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "sent": [%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(sent, ", ")))
end
"""


# --- The world and the webhooks -----------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    sid: str
    line: str  # path, signature, body: one line of the wrk request file


def _phone(n: int) -> str:
    # Valid New York numbers: 10,000 per area code.
    area = ("212", "315", "518", "607", "716", "845", "914", "631", "585", "347")[n // 10_000]
    return f"+1{area}555{n % 10_000:04d}"


def build_world(*, peers: int, now: dt.datetime) -> list[Webhook]:
    """Peers alerted for requests still collecting replies, and one signed reply from each, shuffled."""
    from django.conf import settings

    from agencies.models import Agency
    from core.choices import AgeRange, Gender, Need, OrganisationStatus
    from peer_requests.models import Alert, PeerRequest, RequestStatus
    from peers.models import Peer
    from sms import transport

    rng = random.Random(8)
    location = emergency_department()
    county = location.county
    agency = Agency.objects.create(
        name="Hudson Valley Peer Services",
        contact_name="Dana Reyes",
        phone="+18455550101",
        email="dispatch@example.org",
        status=OrganisationStatus.VERIFIED,
    )
    agency.counties.add(county)
    peer_rows = Peer.objects.bulk_create(
        [
            Peer(
                agency=agency,
                first_name=f"Peer{n}",
                last_name="Bench",
                phone=_phone(n),
                age_range=rng.choice(AgeRange.values),
                gender=rng.choice(Gender.values),
                consented_at=now - dt.timedelta(days=365),
            )
            for n in range(peers)
        ],
        batch_size=2000,
    )
    # Collecting replies, with the choice and expiry as far off as production settings put them.
    request_rows = PeerRequest.objects.bulk_create(
        [
            PeerRequest(
                location=location,
                code=str(1000 + i),
                need=Need.SUBSTANCE_USE,
                callback_contact="Charge nurse, ext. 4410",
                status=RequestStatus.COLLECTING,
                created_at=now,
                selection_due_at=now + dt.timedelta(seconds=settings.PEERRX_SELECTION_SECONDS),
                expires_at=now + dt.timedelta(seconds=settings.PEERRX_EXPIRY_SECONDS),
            )
            for i in range(-(-peers // PEERS_PER_REQUEST))
        ],
        batch_size=2000,
    )
    Alert.objects.bulk_create(
        [
            Alert(request=request_rows[n // PEERS_PER_REQUEST], peer=peer, created_at=now, rank=n % 5 + 1)
            for n, peer in enumerate(peer_rows)
        ],
        batch_size=2000,
    )
    url = f"{PUBLIC_BASE_URL}{INBOUND_PATH}"
    webhooks = []
    for n in range(peers):
        sid = f"SM{rng.getrandbits(128):032x}"
        # What Twilio posts for an incoming SMS (Messaging webhook), in its order.
        params = {
            "ToCountry": "US",
            "ToState": "NY",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "NY",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": rng.choice(("YES", "NO")),
            "FromCountry": "US",
            "To": OUR_NUMBER,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": _phone(n),
            "ApiVersion": "2010-04-01",
        }
        signature = transport.sign(url=url, params=params)
        webhooks.append(Webhook(sid=sid, line=f"{INBOUND_PATH}\t{signature}\t{urlencode(params)}"))
    rng.shuffle(webhooks)  # replies to one request arrive spread out, not five in a row
    return webhooks


# --- Processes and CPU time ----------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class CpuSnapshot:
    server: dict[int, float]  # CPU seconds per gunicorn process
    database: dict[int, float]  # per PostgreSQL backend of the benchmark database
    busy: float
    total: float


def _snapshot(server_pid: int, dbname: str) -> CpuSnapshot:
    server = {pid: _cpu_seconds(pid) for pid in [server_pid, *_children(server_pid)]}
    database = {pid: _cpu_seconds(pid) for pid in _database_backends(dbname)}
    busy, total = _machine_busy()
    return CpuSnapshot(server, database, busy, total)


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process started in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _database_backends(dbname: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [dbname]
        )
        return [row[0] for row in cursor.fetchall()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(*, env: dict[str, str], workers: int, threads: int, logs: Path) -> Iterator[tuple[int, int]]:
    """Peer-RX under gunicorn on a free loopback port; yields (port, master pid), stops it after."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "peerrx.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--access-logfile",
        str(logs / "access.log"),
        "--error-logfile",
        str(logs / "error.log"),
    ]
    process = spawn(command, env=env)
    try:
        _wait_until_serving(port, process, logs)
        yield port, process.pid
    finally:
        _stop(process)


def _wait_until_serving(port: int, process: subprocess.Popen, logs: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}):\n{_tail(logs / 'error.log')}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", TRIVIAL_PATH, headers={"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
            raise SystemExit(f"{TRIVIAL_PATH} answered {status}:\n{_tail(logs / 'error.log')}")
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s:\n{_tail(logs / 'error.log')}")


def _stop(process: subprocess.Popen) -> None:
    """Stop gunicorn and its workers: their own process group, started above."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text().splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    sent: list[int]  # requests generated per wrk thread
    client_cores: float = 0.0
    server_cores: float = 0.0
    database_cores: float = 0.0
    machine_busy: float = 0.0  # share of all cores, anyone's work
    sids: set[str] = field(default_factory=set)
    wrapped: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def run_wrk(
    *,
    label: str,
    port: int,
    lines: list[str],
    sids: list[str] | None,
    seconds: int,
    wrk_threads: int,
    workdir: Path,
    server_pid: int,
    dbname: str,
) -> Run:
    """wrk at CONCURRENCY connections for ``seconds``, with the CPU each side used meanwhile."""
    requests_file = workdir / f"{len(list(workdir.glob('*.requests')))}.requests"
    requests_file.write_text("\n".join(lines) + "\n")
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    command = [
        "wrk",
        f"--threads={wrk_threads}",
        f"--connections={CONCURRENCY}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={script}",
        f"http://127.0.0.1:{port}",
        "--",
        str(requests_file),
        str(wrk_threads),
        PUBLIC_HOST,
    ]
    before, client_before = _snapshot(server_pid, dbname), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after, client_after = _snapshot(server_pid, dbname), resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = next((line for line in result.stdout.splitlines() if line.startswith("BENCH ")), None)
    if result.returncode or summary is None:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(summary.removeprefix("BENCH "))
    client = (client_after.ru_utime + client_after.ru_stime) - (
        client_before.ru_utime + client_before.ru_stime
    )
    run = Run(
        label=label,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors={k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]},
        sent=data["sent"],
        client_cores=client / wall,
        server_cores=_used(before.server, after.server) / wall,
        database_cores=_used(before.database, after.database) / wall,
        machine_busy=(after.busy - before.busy) / max(after.total - before.total, 1),
    )
    if sids is not None:
        run.sids, run.wrapped = sent_sids(sids, run.sent)
    return run


def sent_sids(sids: list[str], sent_per_thread: list[int]) -> tuple[set[str], bool]:
    """The MessageSids wrk sent, and whether a thread ran out and started over.

    wrk thread ``t`` of ``n`` takes lines ``t, t + n, t + 2n…`` in order (the Lua script).
    """
    threads, sent, wrapped = len(sent_per_thread), set(), False
    for thread, count in enumerate(sent_per_thread):
        mine = sids[thread::threads]
        sent.update(mine[:count])
        wrapped = wrapped or count > len(mine)
    return sent, wrapped


# --- Checks --------------------------------------------------------------------------------------


def _wait_for_stored(expected: int, timeout: float = 20.0) -> None:
    """Requests wrk left in flight still run to the end: wait until the count settles."""
    from sms.models import InboundMessage

    deadline, last, stable_since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = InboundMessage.objects.count()
        if count != last:
            last, stable_since = count, time.monotonic()
        elif count >= expected or time.monotonic() - stable_since > 2:
            return
        time.sleep(0.2)


def task_argument(raw: bytes, task: str) -> int | None:
    """The first argument of a Celery message as kombu's Redis transport stores it, if it is ``task``."""
    message = json.loads(raw)
    if message["headers"].get("task") != task:
        return None
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return int(args[0])


def _queued_task_ids(redis_url: str, task: str) -> list[int]:
    """The first argument (a row id) of every ``task`` message waiting in the broker."""
    import redis

    client = redis.Redis.from_url(redis_url)
    ids = []
    for key in client.scan_iter("celery*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            if (argument := task_argument(raw, task)) is not None:
                ids.append(argument)
    client.close()
    return ids


@dataclass
class Checks:
    sent: int  # distinct MessageSids wrk sent
    stored: int  # inbound rows
    duplicates: int
    missing: int
    unexpected: int
    tasks: int  # handle_inbound tasks waiting in the broker after the load
    tasks_for_rows: int  # distinct stored rows among their arguments
    unhandled: int = 0  # after the worker's drain
    outcomes: Counter = field(default_factory=Counter)
    alerts_answered: int = 0
    recorded: int = 0  # texts whose outcome recorded a YES or NO on the peer's alert
    recorded_alerts: int = 0  # distinct alerts among them (one per peer here)
    answered: int = 0  # handled texts the handler answered
    replies: int = 0  # REPLY texts queued in the outbox
    unpaired: int = 0  # replies and answered texts that do not pair up by phone number

    @property
    def exactly_once(self) -> bool:
        return self.stored == self.sent and not (self.duplicates or self.missing or self.unexpected)

    @property
    def one_task_per_row(self) -> bool:
        return self.tasks == self.stored == self.tasks_for_rows

    @property
    def answered_once(self) -> bool:
        """Every text handled, each alert answered at most once, one answer per answered text."""
        return (
            not self.unhandled
            and self.alerts_answered == self.recorded == self.recorded_alerts
            and self.replies == self.answered
            and not self.unpaired
        )

    @property
    def ok(self) -> bool:
        return self.exactly_once and self.one_task_per_row and self.answered_once


def check(*, sent: set[str], task_ids: list[int]) -> Checks:
    """Stored once (with one task each, as queued before the worker ran), then handled once."""
    from django.db.models import Count

    from peer_requests.models import Alert
    from peer_requests.services import NoOutcome, YesOutcome
    from sms.models import InboundMessage, OutboundMessage

    # The outcomes handle_inbound_message writes: those that set the alert's response, and
    # those with no answer queued (an assignment's confirmation is its own text; a failure).
    recording = [YesOutcome.RECORDED, YesOutcome.ASSIGNED, YesOutcome.FILLED, NoOutcome.RECORDED]
    silent = [YesOutcome.ASSIGNED, "no reply", "error"]

    stored = list(InboundMessage.objects.values_list("message_sid", flat=True))
    stored_set = set(stored)
    row_ids = set(InboundMessage.objects.values_list("pk", flat=True))
    handled = InboundMessage.objects.filter(handled_at__isnull=False)
    recorded = handled.filter(outcome__in=recording)
    replies = Counter(
        OutboundMessage.objects.filter(kind=OutboundMessage.Kind.REPLY).values_list("to", flat=True)
    )
    answered = Counter(handled.exclude(outcome__in=silent).values_list("from_number", flat=True))
    return Checks(
        sent=len(sent),
        stored=len(stored),
        duplicates=len(stored) - len(stored_set),
        missing=len(sent - stored_set),
        unexpected=len(stored_set - sent),
        tasks=len(task_ids),
        tasks_for_rows=len(set(task_ids) & row_ids),
        unhandled=InboundMessage.objects.filter(handled_at__isnull=True).count(),
        outcomes=Counter(
            dict(
                InboundMessage.objects.values_list("outcome")
                .annotate(n=Count("id"))
                .values_list("outcome", "n")
            )
        ),
        alerts_answered=Alert.objects.exclude(response="").count(),
        recorded=recorded.count(),
        recorded_alerts=recorded.values("peer_id").distinct().count(),
        answered=answered.total(),
        replies=replies.total(),
        unpaired=((replies - answered) + (answered - replies)).total(),
    )


# --- The worker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    """One worker process handling every stored text; seconds from its launch."""

    texts: int
    startup: float  # launch to the first text handled (Django and Celery starting)
    seconds: float  # launch to the last text handled
    worker_cpu: float = 0.0  # CPU seconds of the worker process, start-up included
    sessions: int | None = None  # PostgreSQL connections it opened (None: not counted)

    @classmethod
    def of(cls, launched: float, handled: Iterable[float], **measured: float | None) -> Drain:
        """From the launch time and each text's ``handled_at`` (Unix seconds)."""
        times = sorted(handled)
        if not times:
            return cls(texts=0, startup=math.nan, seconds=math.nan, **measured)
        return cls(texts=len(times), startup=times[0] - launched, seconds=times[-1] - launched, **measured)

    @property
    def rate(self) -> float:
        """Texts handled per second, between the first and the last."""
        span = self.seconds - self.startup
        return (self.texts - 1) / span if span > 0 else math.nan


def _sessions(dbname: str) -> int | None:
    """Connections ever opened to the database (PostgreSQL 14 and later)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [dbname])
            return cursor.fetchone()[0]
    except DatabaseError:
        return None


def drain(*, env: dict[str, str], log: Path, dbname: str, timeout: float) -> Drain:
    """Start one worker, wait until every stored text is handled (or failed), stop the worker."""
    from sms.models import InboundMessage

    pending = InboundMessage.objects.filter(handled_at__isnull=True).exclude(outcome="error")
    total = InboundMessage.objects.count()
    sessions = _sessions(dbname)
    launched = time.time()
    worker = CeleryProcess.worker(name="bench-inbound", concurrency=WORKER_CONCURRENCY, env=env, log=log)
    try:
        before = _cpu_seconds(worker.pid)
        deadline = time.monotonic() + timeout
        while pending.exists():
            if not worker.alive():
                raise RuntimeError(f"the worker exited ({worker.process.returncode}):\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the worker left {pending.count():,} of {total:,} stored texts unhandled after "
                    f"{timeout:.0f} s (--drain-timeout); its log, {log}:\n{worker.tail()}"
                )
            time.sleep(0.25)
        worker_cpu = _cpu_seconds(worker.pid) - before
    finally:
        worker.stop()
    # Counted after the stop: the worker's last connections have registered by then.
    opened = _sessions(dbname)
    handled = InboundMessage.objects.filter(handled_at__isnull=False).values_list("handled_at", flat=True)
    return Drain.of(
        launched,
        (at.timestamp() for at in handled),
        worker_cpu=worker_cpu,
        sessions=None if sessions is None or opened is None else opened - sessions,
    )


# --- What an empty webhook costs -----------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """CPU milliseconds per call, in this process, of what any webhook must do besides answering."""

    insert_ms: float  # one InboundMessage INSERT in its own transaction, through the ORM
    publish_ms: float  # one handle_inbound task published to the broker (kombu)

    def ratio(self, trivial_ms: float) -> float:
        """Throughput of a webhook doing only that, over the trivial view's, CPU-bound on gunicorn."""
        return trivial_ms / (trivial_ms + self.insert_ms + self.publish_ms)


def measure_floor(redis_url: str, calls: int = FLOOR_CALLS) -> Floor:
    """``time.process_time`` over ``calls`` INSERTs, then as many publishes; both undone after."""
    from django.db import transaction
    from django.utils import timezone

    from sms.models import InboundMessage
    from sms.services import enqueue_inbound

    flush_redis(redis_url)
    now, ids = timezone.now(), []
    started = time.process_time()
    for n in range(calls):
        with transaction.atomic():
            row = InboundMessage.objects.create(
                message_sid=f"SMfloor{n:026d}",
                from_number=_phone(0),
                to_number=OUR_NUMBER,
                body="YES",
                received_at=now,
            )
        ids.append(row.pk)
    insert = time.process_time() - started
    started = time.process_time()
    for inbound_id in ids:
        enqueue_inbound(inbound_id=inbound_id)
    publish = time.process_time() - started
    published = len(_queued_task_ids(redis_url, HANDLE_TASK))
    InboundMessage.objects.filter(pk__in=ids).delete()
    flush_redis(redis_url)
    if published != calls:
        raise RuntimeError(f"{published} of {calls} tasks reached the broker: is Redis at {redis_url}?")
    return Floor(insert_ms=insert / calls * 1000, publish_ms=publish / calls * 1000)


def statements_per_webhook(webhook: Webhook) -> int:
    """SQL statements of one webhook, through Django's test client with the server's headers."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    path, signature, body = webhook.line.split("\t", 2)
    client = Client(HTTP_HOST=PUBLIC_HOST, HTTP_X_FORWARDED_PROTO="https")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            path, body, content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
        )
    assert response.status_code == 200, response.status_code
    return len(captured)


# --- Report --------------------------------------------------------------------------------------


def _verdict_ratio(ratio: float) -> str:
    if ratio >= TARGET_RATIO:
        return "met"
    return f"**missed by {(TARGET_RATIO - ratio) * 100:.0f} points**"


def _verdict_p99(p99: float) -> str:
    if p99 < TARGET_P99_MS:
        return "met"
    return f"**missed by {p99 - TARGET_P99_MS:.0f} ms ({p99 / TARGET_P99_MS:.1f}×)**"


def _cpu(cores: float, rps: float) -> str:
    return f"{cores:.2f} ({_per_request(cores, rps)} ms/req)"


def _per_request(cores: float, rps: float) -> str:
    return f"{cores / rps * 1000:.1f}" if rps else "–"


def _ms_per_request(run: Run) -> float:
    """gunicorn CPU milliseconds per request."""
    return run.server_cores / run.rps * 1000 if run.rps else math.nan


def _ratio_of(run: Run, base: Run) -> str:
    if not (run.rps and base.rps and base.server_cores):
        return "–"
    return f"{(run.server_cores / run.rps) / (base.server_cores / base.rps):.0f}"


def _run_row(run: Run) -> str:
    errors = ", ".join(f"{n} {kind}" for kind, n in run.errors.items()) or "0"
    return (
        f"| {run.label} | {run.requests:,} in {run.seconds:.0f} s | {run.rps:,.0f} | {run.p50_ms:.1f} ms "
        f"| {run.p99_ms:.1f} ms | {run.max_ms:.0f} ms | {errors} | {_cpu(run.server_cores, run.rps)} "
        f"| {_cpu(run.database_cores, run.rps)} | {run.client_cores:.2f} | {run.machine_busy * 100:.0f} % |"
    )


def _per_text(cpu_seconds: float, texts: int) -> str:
    return f"{cpu_seconds / texts * 1000:.1f} ms" if texts else "–"


def _sessions_text(worker: Drain) -> str:
    if worker.sessions is None or not worker.texts:
        return "–"
    return f"{worker.sessions:,} ({worker.sessions / worker.texts:.2f} per text)"


def _floor_text(*, ratio: float, trivial: Run, inbound: Run, floor: Floor) -> str:
    """Why the throughput ratio is what it is: the CPU any webhook needs beyond the trivial view."""
    trivial_ms, inbound_ms = _ms_per_request(trivial), _ms_per_request(inbound)
    best = floor.ratio(trivial_ms)
    beyond = inbound_ms - trivial_ms - floor.insert_ms - floor.publish_ms
    text = (
        "Whatever else it does, the webhook must store the text durably and hand it to a worker: in "
        f"the benchmark process an INSERT in its own transaction costs {floor.insert_ms:.2f} ms of CPU in "
        f"the ORM and publishing the task {floor.publish_ms:.2f} ms in kombu (`time.process_time` over "
        f"{FLOOR_CALLS:,} calls each). On top of the trivial view's {trivial_ms:.2f} ms of gunicorn CPU, a "
        f"webhook doing nothing else would reach about {trivial_ms:.2f} / ({trivial_ms:.2f} + "
        f"{floor.insert_ms:.2f} + {floor.publish_ms:.2f}) = {best * 100:.0f} % of the trivial view's "
        "throughput while gunicorn's CPU is the limit (PostgreSQL's and Redis's own work on the same cores "
        f"only lowers it). This one spends {inbound_ms:.2f} ms, {beyond:.2f} ms beyond those three"
    )
    if ratio >= TARGET_RATIO:
        return text + "."
    if best < TARGET_RATIO:
        return (
            text + f", and reaches {ratio * 100:.0f} %: the ≥ 60 % target is missed by "
            f"{(TARGET_RATIO - ratio) * 100:.0f} points, of which {(TARGET_RATIO - best) * 100:.0f} no "
            "webhook that stores and enqueues on this stack could make up."
        )
    return (
        text + f", and reaches {ratio * 100:.0f} %: the ≥ 60 % target is missed by "
        f"{(TARGET_RATIO - ratio) * 100:.0f} points that the webhook's own work beyond storing and "
        "enqueueing costs."
    )


def report(
    *,
    args: argparse.Namespace,
    trivial: Run,
    inbound: Run,
    worker: Drain,
    checks: Checks,
    statements: int | None,
    floor: Floor,
    loads: tuple[str, str],
    server: str,
) -> str:
    ratio = inbound.rps / trivial.rps
    if args.threads == 1:
        workers = f"{args.workers} sync workers"
    else:
        workers = f"{args.workers} gthread workers × {args.threads} threads"
    command = "`.venv/bin/python bench/bench_inbound.py`"
    options = {"duration": 10, "warmup": 3, "workers": 5, "threads": 1, "wrk_threads": 1, "peers": 20_000}
    changed = [
        f"--{k.replace('_', '-')} {getattr(args, k)}" for k, v in options.items() if getattr(args, k) != v
    ]
    if changed:
        command = f"`.venv/bin/python bench/bench_inbound.py {' '.join(changed)}`"
    outcomes = ", ".join(f"{n:,} {name or '(none)'}" for name, n in checks.outcomes.most_common())
    wrapped = (
        " **The run used up the pre-signed webhooks and sent some again** (duplicates: answered, "
        "stored nothing); raise `--peers`."
        if inbound.wrapped
        else ""
    )
    if statements:
        waits = (
            f"each of its {statements} SQL statements (one more webhook through Django's test client "
            "afterwards, transaction control and savepoints included)"
        )
    else:
        waits = "each of its SQL statements"
    return "\n".join(
        [
            "## Inbound SMS webhook under load",
            "",
            measured_on(
                command,
                loads=loads,
                needs=" (needs `wrk`: `apt-get install wrk`)",
                stack=f", PostgreSQL {server}",
            ),
            "",
            f"gunicorn, {workers} (access log on; sync workers as in the Procfile, five being "
            f"gunicorn's 2 × cores + 1: a webhook's worker waits for PostgreSQL at {waits} and for Redis "
            "to take the task, so more workers than cores keep both cores busy, and threads would add "
            "nothing to CPU-bound Python under the GIL), production settings: `DEBUG=false`, "
            "`DB_CONN_MAX_AGE=60` (persistent, health-checked connections), Celery's broker on Redis, "
            "`SECURE_SSL_REDIRECT` on behind a TLS proxy (`TRUST_X_FORWARDED_PROTO=true`; each request "
            "carries `X-Forwarded-Proto: https` and the public host, as the proxy forwards them). "
            f"wrk ({args.wrk_threads} thread) keeps 32 connections busy on loopback for {args.duration} s "
            f"after a {args.warmup} s warm-up: first the trivial view (`HttpResponse('ok')` behind the same "
            "middleware, posted the same form bodies), then the webhook, each request a distinct "
            "MessageSid with Twilio's usual parameters, signed as Twilio signs, from "
            f"{args.peers:,} peers alerted five to a request for {-(-args.peers // PEERS_PER_REQUEST):,} "
            "requests still collecting replies (a bare YES or NO). The webhook checks the signature, "
            "stores the text (`InboundMessage`, without its peer) and enqueues `sms.tasks.handle_inbound` "
            "once the row commits; no worker runs during the load, so the tasks wait in the broker. "
            "Latency is wrk's, send to last byte, closed loop. Sync workers close the connection after "
            "each response, as they do behind a proxy, so wrk reconnects per request. CPU: cores used "
            "during the run (and CPU time per request) by the gunicorn workers, by their PostgreSQL "
            "backends and by wrk; machine: all cores, anyone's work." + wrapped,
            "",
            "| view | requests | req/s | p50 | p99 | max | errors | gunicorn CPU | PostgreSQL CPU | wrk CPU "
            "| machine |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
            _run_row(trivial),
            _run_row(inbound),
            "",
            "Then gunicorn stops and one Celery worker process starts (`celery -A peerrx worker "
            f"--pool=threads --concurrency={WORKER_CONCURRENCY}`, the same settings, console SMS backend) "
            f"and handles the {worker.texts:,} stored texts as production does "
            "(`sms.services.handle_inbound_message`: find the peer by number, parse the reply, lock the "
            "request, record the YES or NO and an event, queue the answer in the outbox; the answers' "
            "delivery tasks queue behind the texts' and are not waited for). Celery's Django fix-up "
            "closes the task's database connections before and after every task unless "
            "`CELERY_DB_REUSE_MAX` is set, so each text may open a connection of its own; "
            "`pg_stat_database.sessions` counts them.",
            "",
            "| worker | figure |",
            "|---|---:|",
            f"| replies handled per second by one worker process ({WORKER_CONCURRENCY} threads), first to "
            f"last | {worker.rate:,.0f}/s |",
            f"| drain: worker launch to every stored text handled | {worker.seconds:.1f} s |",
            f"| … of which start-up (launch to the first text handled) | {worker.startup:.1f} s |",
            f"| worker CPU per text (start-up included) | {_per_text(worker.worker_cpu, worker.texts)} |",
            f"| PostgreSQL connections the worker opened | {_sessions_text(worker)} |",
            "",
            "| target | figure | target | ratio | |",
            "|---|---:|---:|---:|---|",
            f"| webhook req/s ÷ trivial view req/s | {ratio * 100:.0f} % | ≥ 60 % "
            f"| {ratio / TARGET_RATIO:.2f} | {_verdict_ratio(ratio)} |",
            f"| webhook p99 at 32 concurrent | {inbound.p99_ms:.1f} ms | < 100 ms "
            f"| {inbound.p99_ms / TARGET_P99_MS:.2f} | {_verdict_p99(inbound.p99_ms)} |",
            f"| every reply stored exactly once | {checks.stored:,} rows for {checks.sent:,} MessageSids "
            f"| equal, no duplicate | – | {'met' if checks.exactly_once else '**missed**'} |",
            f"| … and handled once by the worker | {checks.stored - checks.unhandled:,} handled, "
            f"{checks.alerts_answered:,} alerts answered, {checks.replies:,} answers queued | every row; "
            f"one answer each | – | {'met' if checks.answered_once else '**missed**'} |",
            "",
            f"Per request the webhook costs {_per_request(inbound.server_cores, inbound.rps)} ms of "
            f"gunicorn CPU, {_ratio_of(inbound, trivial)}× the trivial view's "
            f"{_per_request(trivial.server_cores, trivial.rps)} ms, plus "
            f"{_per_request(inbound.database_cores, inbound.rps)} ms in PostgreSQL; at 32 requests in flight "
            f"a p99 under 100 ms needs at least {CONCURRENCY / TARGET_P99_MS * 1000:.0f} req/s (Little's "
            "law on the mean alone). "
            + _floor_text(ratio=ratio, trivial=trivial, inbound=inbound, floor=floor),
            "",
            f"Stored exactly once: {checks.sent:,} distinct MessageSids sent (warm-up included, counted "
            f"by wrk's script), {checks.stored:,} inbound rows, {checks.duplicates} duplicates, "
            f"{checks.missing} missing, {checks.unexpected} unexpected; after the load {checks.tasks:,} "
            f"`{HANDLE_TASK}` tasks waited in the broker, for {checks.tasks_for_rows:,} distinct stored rows "
            f"({'one per row' if checks.one_task_per_row else '**not one per row**'}). Handled once: "
            f"{checks.unhandled} unhandled after the drain; outcomes: {outcomes}; "
            f"{checks.alerts_answered:,} alerts answered, {checks.recorded:,} texts recorded a YES or NO, "
            f"for {checks.recorded_alerts:,} distinct alerts; {checks.replies:,} answers queued in the "
            f"outbox for the {checks.answered:,} texts the handler answered (an assignment's confirmation "
            f"would be its own text), {checks.unpaired} not pairing up by number.",
        ]
    )


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per view (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per view (default 3)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; >1 uses gthread")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--peers", type=int, default=20_000, help="peers, one webhook each (max 100,000)")
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="seconds the worker may take (default 300)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the database and the logs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "This benchmark needs wrk, the HTTP load generator: `apt-get install wrk` (Debian, Ubuntu) "
            "or `brew install wrk` (macOS)."
        )
    if not 0 < args.peers <= 100_000:
        parser.error("--peers must be between 1 and 100,000")
    exit_on_sigterm()  # the clean-up below runs

    database_url = os.environ.get("BENCH_INBOUND_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_INBOUND_REDIS_URL", DEFAULT_REDIS_URL)
    dbname = database_name(database_url)
    if not dbname.startswith(OWNED_DATABASES):
        parser.error(f"BENCH_INBOUND_DATABASE_URL must name a database {OWNED_DATABASES}*: it is dropped")
    workdir = Path(tempfile.mkdtemp(prefix="peerrx-bench-inbound-"))
    (workdir / "var" / "staticfiles").mkdir(parents=True)  # WhiteNoise warns about a missing one
    env = production_env(
        database_url=database_url,
        broker_url=redis_url,
        var_dir=workdir / "var",
        ALLOWED_HOSTS=PUBLIC_HOST,
        DB_CONN_MAX_AGE="60",
        TRUST_X_FORWARDED_PROTO="true",
        SECURE_SSL_REDIRECT="true",
        PEERRX_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SMS_BACKEND="console",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PYTHONUNBUFFERED="1",
    )
    os.environ.update(env)
    worker_env = dict(os.environ)
    server_env = worker_env | {"DJANGO_SETTINGS_MODULE": "bench.inbound_site"}
    try:
        started = time.perf_counter()
        recreate_database(database_url, OWNED_DATABASES)
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        from sms.models import InboundMessage

        call_command("migrate", verbosity=0)
        webhooks = build_world(peers=args.peers, now=dt.datetime.now(dt.UTC))
        with connection.cursor() as cursor:
            # Statistics, as autovacuum keeps them in production: without them the planner
            # guesses 3 active requests and picks a nested loop over all of them per reply.
            cursor.execute("ANALYZE")
        server = server_version()
        flush_redis(redis_url)
        print(f"database built in {time.perf_counter() - started:.0f} s: {args.peers:,} peers and webhooks")

        # The warm-up gets its own webhooks: every one sent must be stored once, warm-up included.
        warm_count = min(len(webhooks) // 5, WARM_WEBHOOKS)
        warm, measured = webhooks[:warm_count], webhooks[warm_count:]
        trivial_lines = [f"{TRIVIAL_PATH}\t-\t{w.line.split(chr(9), 2)[2]}" for w in webhooks[:2000]]
        loads = [load_average()]
        with gunicorn(env=server_env, workers=args.workers, threads=args.threads, logs=workdir) as (
            port,
            pid,
        ):
            common = {
                "port": port,
                "wrk_threads": args.wrk_threads,
                "workdir": workdir,
                "server_pid": pid,
                "dbname": dbname,
            }
            run_wrk(
                label="warm-trivial",
                lines=trivial_lines,
                sids=None,
                seconds=args.warmup,
                **common,
            )
            trivial = run_wrk(
                label="trivial view",
                lines=trivial_lines,
                sids=None,
                seconds=args.duration,
                **common,
            )
            print(_run_row(trivial))
            warm_run = run_wrk(
                label="warm-inbound",
                lines=[w.line for w in warm],
                sids=[w.sid for w in warm],
                seconds=args.warmup,
                **common,
            )
            inbound = run_wrk(
                label=f"POST {INBOUND_PATH}",
                lines=[w.line for w in measured],
                sids=[w.sid for w in measured],
                seconds=args.duration,
                **common,
            )
            print(_run_row(inbound))
            sent = warm_run.sids | inbound.sids
            _wait_for_stored(len(sent))
        # gunicorn has stopped: every request it took has committed and published its task.
        task_ids = _queued_task_ids(redis_url, HANDLE_TASK)
        stored = InboundMessage.objects.count()
        print(
            f"{stored:,} texts stored, {len(task_ids):,} {HANDLE_TASK} tasks waiting; one worker drains them"
        )
        worker = drain(env=worker_env, log=workdir / "worker.log", dbname=dbname, timeout=args.drain_timeout)
        print(
            f"worker: {worker.texts:,} texts handled {worker.seconds:.1f} s after its launch "
            f"({worker.startup:.1f} s start-up), {worker.rate:,.0f}/s"
        )
        loads.append(load_average())
        checks = check(sent=sent, task_ids=task_ids)
        if not checks.ok:
            print(_tail(workdir / "error.log"))
            print(_tail(workdir / "worker.log"))
        unsent = next((w for w in reversed(measured) if w.sid not in sent), None)
        statements = statements_per_webhook(unsent) if unsent else None
        floor = measure_floor(redis_url)
        body = report(
            args=args,
            trivial=trivial,
            inbound=inbound,
            worker=worker,
            checks=checks,
            statements=statements,
            floor=floor,
            loads=(loads[0], loads[1]),
            server=server,
        )
        publish("inbound", body, no_doc=args.no_doc)
    finally:
        clean_up(
            database_url=database_url,
            owned_prefix=OWNED_DATABASES,
            redis_url=redis_url,
            workdir=workdir,
            keep=args.keep,
            kept=f"database {dbname}, logs and requests in {workdir}",
        )


if __name__ == "__main__":
    main()
