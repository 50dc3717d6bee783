"""Number helpers."""


def clamp(value, low, high):
    """`value` limited to the range [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(high, value))


def percent(part, whole, digits=1):
    """`part` as a percentage of `whole`, rounded; 0.0 when `whole` is 0."""
    if whole == 0:
        return 0.0
    return round(100.0 * part / whole, digits)


def mean(values):
    """The arithmetic mean; ValueError for no values."""
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
