"""Summary statistics for request latencies and statuses.

Percentiles use the *nearest-rank* definition that our SLOs are written in: the
p-th percentile of n values is the smallest value such that at least p % of the
values are less than or equal to it, i.e. the value at rank ceil(p / 100 * n) in
sorted order (ranks start at 1). The 0th percentile is the minimum. So for
[10, 20, 30, 40] the median (p50) is 20 and p75 is 30, and for 20 values p95 is
the 19th smallest, not the maximum.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

DEFAULT_BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500)


def mean(values):
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def stdev(values):
    """Population standard deviation."""
    values = list(values)
    avg = mean(values)
    return math.sqrt(sum((v - avg) ** 2 for v in values) / len(values))


def status_class(status):
    """200 -> '2xx'."""
    return f"{status // 100}xx"


def error_rate(statuses):
    """Share of 5xx responses (client errors are not our errors)."""
    statuses = list(statuses)
    if not statuses:
        return 0.0
    return sum(1 for s in statuses if s >= 500) / len(statuses)


def apdex(latencies, target_ms):
    """Apdex score: satisfied (<= T) count 1, tolerating (<= 4T) count 0.5."""
    latencies = list(latencies)
    if not latencies:
        return 1.0
    satisfied = sum(1 for v in latencies if v <= target_ms)
    tolerating = sum(1 for v in latencies if target_ms < v <= 4 * target_ms)
    return (satisfied + tolerating / 2) / len(latencies)


def histogram(latencies, buckets=DEFAULT_BUCKETS_MS):
    """[(upper bound or None for the overflow bucket, count)] with bounds inclusive."""
    counts = [0] * (len(buckets) + 1)
    for value in latencies:
        for index, bound in enumerate(buckets):
            if value <= bound:
                counts[index] += 1
                break
        else:
            counts[-1] += 1
    return list(zip([*buckets, None], counts))


def format_histogram(rows, width=40):
    most = max((count for _, count in rows), default=0) or 1
    lines = []
    previous = 0
    for bound, count in rows:
        label = f"<= {bound} ms" if bound is not None else f"> {previous} ms"
        lines.append(f"{label:>12} {count:>6} {'#' * round(width * count / most)}".rstrip())
        if bound is not None:
            previous = bound
    return "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    error_rate: float
    statuses: dict


class Window:
    """A sliding window of the most recent ``size`` latencies, for live dashboards."""

    def __init__(self, size):
        if size < 1:
            raise ValueError("window size must be positive")
        self.size = size
        self._values = []

    def add(self, value):
        self._values.append(value)
        if len(self._values) > self.size:
            del self._values[0]

    def percentile(self, p):
        return percentile(self._values, p)

    def __len__(self):
        return len(self._values)


def percentile(values, p):
    """The p-th percentile of ``values`` (see the module docstring)."""
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    index = int(p / 100 * len(ordered))
    return ordered[min(index, len(ordered) - 1)]


def percentiles(values, ps=(50, 95, 99)):
    """{p: value} for several percentiles at once."""
    return {p: percentile(values, p) for p in ps}


def summarize(requests):
    """A Summary of a non-empty list of requests."""
    if not requests:
        raise ValueError("no requests to summarize")
    latencies = [r.ms for r in requests]
    ps = percentiles(latencies)
    return Summary(
        count=len(requests),
        mean=mean(latencies),
        p50=ps[50],
        p95=ps[95],
        p99=ps[99],
        max=max(latencies),
        error_rate=error_rate(r.status for r in requests),
        statuses=dict(sorted(Counter(status_class(r.status) for r in requests).items())),
    )
