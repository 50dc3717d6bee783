"""Plain-text reports for the back office."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a text table.

    Text columns are left-aligned and cut to `width`; numeric columns are
    right-aligned with two decimals.
    """

    header: str
    key: str
    width: int
    numeric: bool = False


def format_sales_report(rows):
    lines = ["SALES REPORT", "=" * len("SALES REPORT")]
    header = f"{'Date':<10} {'Customer':<20} {'Amount':>10}"
    lines.append(header)
    lines.append("-" * len(header))
    total = 0
    for row in rows:
        customer = str(row["customer"])[:20]
        lines.append(f"{str(row['date'])[:10]:<10} {customer:<20} {row['amount']:>10.2f}")
        total += row["amount"]
    lines.append("-" * len(header))
    lines.append(f"{'TOTAL':<31} {total:>10.2f}")
    return "\n".join(lines)


def format_refund_report(rows):
    lines = ["REFUND REPORT", "=" * len("REFUND REPORT")]
    header = f"{'Date':<10} {'Order':<8} {'Reason':<24} {'Amount':>10}"
    lines.append(header)
    lines.append("-" * len(header))
    total = 0
    for row in rows:
        reason = str(row["reason"])[:24]
        order = str(row["order"])[:8]
        lines.append(f"{str(row['date'])[:10]:<10} {order:<8} {reason:<24} {row['amount']:>10.2f}")
        total += row["amount"]
    lines.append("-" * len(header))
    lines.append(f"{'TOTAL':<44} {total:>10.2f}")
    return "\n".join(lines)
