"""Closed intervals (start, end) on a number line: merging and coverage."""


def merge(intervals):
    """Merge overlapping or touching intervals.

    Input may be in any order and is not modified. The result is sorted by
    start and contains no two intervals that overlap or touch.
    """
    result = []
    for start, end in sorted(intervals):
        if start > end:
            raise ValueError(f"interval ({start}, {end}) ends before it starts")
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def total_covered(intervals):
    """Total length covered by the intervals, counting overlaps once."""
    return sum(end - start for start, end in merge(intervals))


def gaps(intervals, start, end):
    """The parts of [start, end] not covered by any interval."""
    free = []
    cursor = start
    for a, b in merge(intervals):
        if b < cursor:
            continue
        if a > end:
            break
        if a > cursor:
            free.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        free.append((cursor, end))
    return free
