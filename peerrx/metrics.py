"""``/metrics``: Prometheus gauges computed from the database when scraped.

Every figure is read at scrape time by one collector (``PeerRxCollector``, seven queries), so
any number of web processes answer alike and nothing is kept in memory between scrapes. The
endpoint answers only with the bearer token ``PEERRX_METRICS_TOKEN``: without the setting it
does not exist (404); without the header it answers 401, with a wrong token 403. The metrics and
example alert rules: docs/operations.md, "Metrics".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from peer_requests.models import ACTIVE_STATUSES, SWEEPER_HEARTBEAT, Heartbeat, PeerRequest, RequestStatus
from reporting.models import RollupState
from sms.models import InboundMessage, OutboundMessage, OutboundStatus

# Texts counted by status and error code: those created in this window, so a scrape stays cheap
# over years of texts (an index on created_at) and a burst of failures shows at once.
TEXTS_WINDOW = dt.timedelta(hours=1)
WAITING_TEXTS = (OutboundStatus.QUEUED, OutboundStatus.SENDING)


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


class PeerRxCollector:
    """The operators' gauges, read from the database at ``now``."""

    def __init__(self, *, now: dt.datetime):
        self.now = now

    def collect(self) -> Iterator[Metric]:
        yield self._requests()
        yield from self._texts()
        yield from self._outbox()
        yield from self._inbound()
        yield from self._deadlines()
        yield from self._heartbeat()
        yield from self._rollup()

    def _requests(self) -> Metric:
        gauge = GaugeMetricFamily("peerrx_requests", "Requests by state (all time).", labels=["state"])
        counts = dict(PeerRequest.objects.order_by().values_list("status").annotate(n=Count("id")))
        for state in RequestStatus.values:
            gauge.add_metric([state], counts.get(state, 0))
        return gauge

    def _texts(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "peerrx_texts_last_hour",
            "Outbound texts created in the last hour, by kind (alert or other), status and provider "
            "error code ('' when none).",
            labels=["kind", "status", "error_code"],
        )
        rows = (
            OutboundMessage.objects.filter(created_at__gte=self.now - TEXTS_WINDOW)
            .order_by()
            .values_list("kind", "status", "error_code")
            .annotate(n=Count("id"))
        )
        totals: dict[tuple[str, str, str], int] = {}
        for kind, status, error_code, n in rows:
            key = ("alert" if kind == OutboundMessage.Kind.ALERT else "other", status, error_code)
            totals[key] = totals.get(key, 0) + n
        for labels, n in sorted(totals.items()):
            gauge.add_metric(list(labels), n)
        yield gauge

    def _outbox(self) -> Iterator[Metric]:
        waiting = OutboundMessage.objects.filter(status__in=WAITING_TEXTS).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "peerrx_outbox_queued",
            "Texts queued or being sent, not yet accepted by the provider.",
            waiting["n"],
        )
        yield GaugeMetricFamily(
            "peerrx_outbox_oldest_queued_age_seconds",
            "Age of the oldest text still queued or being sent (0 when none).",
            _age(self.now, waiting["oldest"]),
        )

    def _inbound(self) -> Iterator[Metric]:
        unhandled = InboundMessage.objects.filter(handled_at__isnull=True).aggregate(
            n=Count("id"), oldest=Min("received_at")
        )
        yield GaugeMetricFamily(
            "peerrx_inbound_unhandled", "Stored texts not yet handled by a worker.", unhandled["n"]
        )
        yield GaugeMetricFamily(
            "peerrx_inbound_oldest_unhandled_age_seconds",
            "Age of the oldest stored text not yet handled: the inbound handling lag (0 when none).",
            _age(self.now, unhandled["oldest"]),
        )

    def _deadlines(self) -> Iterator[Metric]:
        choice_due = Q(status=RequestStatus.COLLECTING, selection_due_at__lte=self.now)
        expiry_due = Q(status__in=ACTIVE_STATUSES, expires_at__lte=self.now)
        due = PeerRequest.objects.filter(choice_due | expiry_due).aggregate(
            choices=Count("id", filter=choice_due),
            expiries=Count("id", filter=expiry_due),
            oldest_choice=Min("selection_due_at", filter=choice_due),
            oldest_expiry=Min("expires_at", filter=expiry_due),
        )
        overdue = GaugeMetricFamily(
            "peerrx_deadlines_overdue", "Deadlines passed and not yet acted on, by kind.", labels=["deadline"]
        )
        overdue.add_metric(["choice"], due["choices"])
        overdue.add_metric(["expiry"], due["expiries"])
        yield overdue
        lateness = max(_age(self.now, due["oldest_choice"]), _age(self.now, due["oldest_expiry"]))
        yield GaugeMetricFamily(
            "peerrx_deadline_lateness_seconds",
            "How long the most overdue passed deadline (a choice or an expiry) has waited (0 when none).",
            lateness,
        )

    def _heartbeat(self) -> Iterator[Metric]:
        beat = Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).values_list("beat_at", flat=True).first()
        # +Inf until the sweeper's first run: "never" is not "just now", and an age rule fires on it.
        yield GaugeMetricFamily(
            "peerrx_sweeper_heartbeat_age_seconds",
            "Seconds since the sweeper last ran (+Inf if it never has).",
            _age(self.now, beat) if beat else math.inf,
        )

    def _rollup(self) -> Iterator[Metric]:
        state = RollupState.objects.values("rolled_through", "refreshed_at").first() or {}
        rolled = state.get("rolled_through")
        yield GaugeMetricFamily(
            "peerrx_rollup_watermark_age_seconds",
            "Seconds since the hour the report rollups are complete through (+Inf before the first rollup).",
            _age(self.now, rolled) if rolled else math.inf,
        )


def _refusal(status: int, reason: str) -> HttpResponse:
    response = HttpResponse(reason, status=status, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.PEERRX_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return _refusal(401, "a bearer token is required\n")
    if not constant_time_compare(given.strip(), token):
        return _refusal(403, "wrong token\n")
    registry = CollectorRegistry()
    registry.register(PeerRxCollector(now=timezone.now()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
