"""Prometheus metrics: counters and histograms kept by each process, gauges read from the
database when scraped (so they hold across any number of workers).

``GET /metrics`` serves them from the API; ``outbound worker`` serves its own on
``OUTBOUND_METRICS_PORT`` when set.
"""

import collections
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

ATTEMPTS_ENDED = Counter(
    "outbound_attempts_ended",
    "Attempts that ended, by outcome (recorded by this process)",
    ["outcome"],
    registry=None,
)
ATTEMPTS_PLACED = Counter(
    "outbound_attempts_placed",
    "Attempts handed to the telephony provider by this process",
    ["provider"],
    registry=None,
)
DISPATCH_LAG = Histogram(
    "outbound_dispatch_lag_seconds",
    "When an attempt started, minus when it was due",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=None,
)
HTTP_LATENCY = Histogram(
    "outbound_http_request_duration_seconds",
    "API latency, by route",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)


def count_outcomes(outcomes: Iterable[str]) -> None:
    for outcome, count in collections.Counter(outcomes).items():  # a batch's: one inc each
        ATTEMPTS_ENDED.labels(outcome).inc(count)


class QueueCollector(Collector):
    """Gauges computed from the database at each scrape."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception:  # an unreachable database must not break the scrape
            return
        yield GaugeMetricFamily(
            "outbound_calls_due",
            "Pending calls of running campaigns whose time has come (the queue's depth)",
            value=values["due"],
        )
        yield GaugeMetricFamily(
            "outbound_attempts_in_progress",
            "Calls with an attempt being placed or talking",
            value=values["in_progress"],
        )


def registry(read_queue: Callable[[], dict[str, int]]) -> CollectorRegistry:
    """A registry of this process's metrics and the database's gauges."""
    combined = CollectorRegistry(auto_describe=True)
    for metric in (ATTEMPTS_ENDED, ATTEMPTS_PLACED, DISPATCH_LAG, HTTP_LATENCY):
        combined.register(metric)
    combined.register(QueueCollector(read_queue))
    return combined
