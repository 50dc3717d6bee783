from collections import defaultdict

from logstats.routes import route_of
from logstats.stats import summarize


def by_route(requests):
    groups = defaultdict(list)
    for request in requests:
        groups[(request.method, route_of(request.path))].append(request)
    return dict(groups)


def route_table(requests, min_count=1):
    """The latency table, slowest p95 first."""
    rows = []
    for (method, route), group in by_route(requests).items():
        if len(group) < min_count:
            continue
        rows.append((method, route, summarize(group)))
    rows.sort(key=lambda row: (-row[2].p95, row[0], row[1]))
    lines = [f"{'Route':<28} {'Count':>6} {'Err%':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'Max':>8}"]
    for method, route, s in rows:
        name = f"{method} {route}"
        lines.append(f"{name:<28} {s.count:>6} {s.error_rate * 100:>6.1f} {s.p50:>8.1f} "
                     f"{s.p95:>8.1f} {s.p99:>8.1f} {s.max:>8.1f}")
    return "\n".join(lines)
