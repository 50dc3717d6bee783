"""Numbers for the weekly report."""


def customer_count(directory):
    return len(directory)


def revenue_by_customer(directory):
    """E-mail -> total order amount in cents, highest first."""
    totals = {c.email: sum(amount for _, amount in c.orders) for c in directory.contacts()}
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def customers_with_tag(directory, tag):
    return [c.email for c in directory.contacts() if tag in c.tags]
