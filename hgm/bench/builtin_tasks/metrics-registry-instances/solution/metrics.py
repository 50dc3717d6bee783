"""Application metrics in the Prometheus text format.

    requests = counter("http_requests_total", "Requests served.", labels=("method",))
    requests.inc(method="GET")
    latency = histogram("http_latency_seconds", "Request latency.", buckets=(0.1, 0.5, 1))
    latency.observe(0.27)
    print(render())

Metric and label names follow Prometheus rules; label values are escaped on output.
"""

from __future__ import annotations

import math
import re

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricError(ValueError):
    """A metric was defined or used inconsistently."""


def escape_label_value(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(pairs) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs)
    return "{" + inner + "}"


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str = "", labels=()) -> None:
        if not _NAME.match(name):
            raise MetricError(f"invalid metric name {name!r}")
        for label in labels:
            if not _LABEL.match(label) or label.startswith("__"):
                raise MetricError(f"{name}: invalid label name {label!r}")
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self._values: dict = {}

    def _key(self, labels: dict) -> tuple:
        if set(labels) != set(self.labels):
            raise MetricError(f"{self.name}: expected labels {self.labels}, got {tuple(labels)}")
        return tuple(str(labels[name]) for name in self.labels)

    def samples(self):
        """(name suffix, label pairs, value) for every sample of this metric."""
        for key, value in sorted(self._values.items()):
            yield "", list(zip(self.labels, key)), value


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1, **labels) -> None:
        if amount < 0:
            raise MetricError(f"{self.name}: counters only go up")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels) -> float:
        return self._values.get(self._key(labels), 0)


class Gauge(_Metric):
    kind = "gauge"

    def set(self, value: float, **labels) -> None:
        self._values[self._key(labels)] = value

    def inc(self, amount: float = 1, **labels) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0) + amount

    def dec(self, amount: float = 1, **labels) -> None:
        self.inc(-amount, **labels)

    def value(self, **labels) -> float:
        return self._values.get(self._key(labels), 0)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str = "", labels=(), buckets=DEFAULT_BUCKETS) -> None:
        if "le" in labels:
            raise MetricError(f"{name}: 'le' is reserved for histogram buckets")
        super().__init__(name, help, labels)
        bounds = sorted(float(b) for b in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise MetricError(f"{name}: buckets must be distinct and not empty")
        self.buckets = tuple(bounds) + ((math.inf,) if bounds[-1] != math.inf else ())

    def observe(self, value: float, **labels) -> None:
        key = self._key(labels)
        counts, total = self._values.get(key, ([0] * len(self.buckets), 0.0))
        counts = [c + (value <= bound) for c, bound in zip(counts, self.buckets)]
        self._values[key] = (counts, total + value)

    def count(self, **labels) -> int:
        counts, _ = self._values.get(self._key(labels), ([0] * len(self.buckets), 0.0))
        return counts[-1]

    def samples(self):
        for key, (counts, total) in sorted(self._values.items()):
            pairs = list(zip(self.labels, key))
            for bound, count in zip(self.buckets, counts):
                yield "_bucket", pairs + [("le", format_value(bound))], count
            yield "_sum", pairs, total
            yield "_count", pairs, counts[-1]


# -- registries ----------------------------------------------------------------------


class Registry:
    """A set of metrics, keyed by name, in creation order.

    Independent registries do not share metrics, so a library or a test can keep its
    own. The module-level functions below use :data:`default_registry`.
    """

    def __init__(self) -> None:
        self._metrics: dict = {}

    def _get_or_create(self, cls, name, help, labels, **options):
        existing = self._metrics.get(name)
        if existing is not None:
            if type(existing) is not cls or existing.labels != tuple(labels):
                raise MetricError(f"{name} is already registered as a different metric")
            return existing
        metric = cls(name, help, labels, **options)
        self._metrics[name] = metric
        return metric

    def counter(self, name: str, help: str = "", labels=()) -> Counter:
        """The counter called ``name``, created on first use."""
        return self._get_or_create(Counter, name, help, labels)

    def gauge(self, name: str, help: str = "", labels=()) -> Gauge:
        """The gauge called ``name``, created on first use."""
        return self._get_or_create(Gauge, name, help, labels)

    def histogram(self, name: str, help: str = "", labels=(),
                  buckets=DEFAULT_BUCKETS) -> Histogram:
        """The histogram called ``name``, created on first use."""
        return self._get_or_create(Histogram, name, help, labels, buckets=buckets)

    def get(self, name: str):
        """The metric called ``name``, or None."""
        return self._metrics.get(name)

    def unregister(self, name: str) -> None:
        if self._metrics.pop(name, None) is None:
            raise MetricError(f"no metric called {name}")

    def names(self) -> list:
        return list(self._metrics)

    def render(self) -> str:
        """Every metric in the Prometheus text exposition format."""
        lines = []
        for metric in self._metrics.values():
            if metric.help:
                help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n")
                lines.append(f"# HELP {metric.name} {help_text}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            for suffix, pairs, value in metric.samples():
                lines.append(f"{metric.name}{suffix}{format_labels(pairs)} {format_value(value)}")
        return "\n".join(lines) + "\n" if lines else ""

    def reset(self) -> None:
        """Forget every metric (for tests and for re-configuration)."""
        self._metrics.clear()


default_registry = Registry()


def counter(name: str, help: str = "", labels=()) -> Counter:
    """The counter called ``name`` in the default registry, created on first use."""
    return default_registry.counter(name, help, labels)


def gauge(name: str, help: str = "", labels=()) -> Gauge:
    """The gauge called ``name`` in the default registry, created on first use."""
    return default_registry.gauge(name, help, labels)


def histogram(name: str, help: str = "", labels=(), buckets=DEFAULT_BUCKETS) -> Histogram:
    """The histogram called ``name`` in the default registry, created on first use."""
    return default_registry.histogram(name, help, labels, buckets)


def get(name: str):
    """The metric called ``name`` in the default registry, or None."""
    return default_registry.get(name)


def unregister(name: str) -> None:
    default_registry.unregister(name)


def names() -> list:
    return default_registry.names()


def render() -> str:
    """Every metric of the default registry in the Prometheus text format."""
    return default_registry.render()


def reset() -> None:
    """Forget every metric of the default registry."""
    default_registry.reset()
