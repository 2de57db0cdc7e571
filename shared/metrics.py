"""Prometheus metrics: one registry per service app (tests run several apps in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response


class _BacklogCollector(Collector):
    def __init__(self, service: str, read: Callable[[], int]) -> None:
        self.service, self.read = service, read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "trainingops_outbox_backlog", "Events written but not yet relayed", labels=["service"]
        )
        try:
            family.add_metric([self.service], float(self.read()))
        except Exception:
            family.add_metric([self.service], float("nan"))
        yield family


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "trainingops_http_requests_total", "HTTP requests", ["service", "method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "trainingops_http_request_seconds", "HTTP request latency", ["service", "method", "route"], registry=r
        )
        self.events_published = Counter(
            "trainingops_events_published_total", "Events relayed to Kafka", ["service"], registry=r
        )
        self.events_consumed = Counter(
            "trainingops_events_consumed_total", "Events consumed", ["service", "type", "result"], registry=r
        )
        self.dlq_messages = Counter(
            "trainingops_dlq_messages_total", "Messages sent to the dead-letter topic", ["service"], registry=r
        )
        self.consumer_loop_failures = Counter(
            "trainingops_consumer_loop_failures_total",
            "Consumer poll-loop iterations that failed (the consumer reconnects and the records come back)",
            ["service", "error"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "trainingops_consumer_lag",
            "Messages behind the end of each partition",
            ["service", "topic", "partition"],
            registry=r,
        )

    def watch_outbox(self, read_backlog: Callable[[], int]) -> None:
        self.registry.register(_BacklogCollector(self.service, read_backlog))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")


# -- what readiness reports without failing on it: broker reachability, outbox age (shared.health) ----------
class _DependencyCollector(Collector):
    """Read at each scrape: whether the broker answers, and how long the oldest outbox row has waited."""

    def __init__(self, service: str, broker_up: Callable[[], bool], outbox_age: Callable[[], float]) -> None:
        self.service, self.broker_up, self.outbox_age = service, broker_up, outbox_age

    def collect(self) -> Iterable[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "trainingops_broker_reachable", "1 if a Kafka broker answers a request, else 0", labels=["service"]
        )
        up.add_metric([self.service], 1.0 if self.broker_up() else 0.0)
        yield up
        age = GaugeMetricFamily(
            "trainingops_outbox_oldest_age_seconds",
            "Age of the oldest event not yet relayed to Kafka (0 when none waits)",
            labels=["service"],
        )
        try:
            age.add_metric([self.service], float(self.outbox_age()))
        except Exception:
            age.add_metric([self.service], float("nan"))
        yield age


def watch_dependencies(metrics: ServiceMetrics, broker_up: Callable[[], bool], outbox_age: Callable[[], float]) -> None:
    metrics.registry.register(_DependencyCollector(metrics.service, broker_up, outbox_age))
