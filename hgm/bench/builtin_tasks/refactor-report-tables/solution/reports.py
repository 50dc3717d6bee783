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

    def head(self):
        return f"{self.header:>{self.width}}" if self.numeric else f"{self.header:<{self.width}}"

    def cell(self, value):
        if self.numeric:
            return f"{value:>{self.width}.2f}"
        return f"{str(value)[:self.width]:<{self.width}}"


def format_table(title, columns, rows, with_total=False):
    """A titled text table of `rows` (dicts) laid out by `columns`.

    With `with_total`, a TOTAL line sums the last column, which must be numeric.
    """
    if with_total and not columns[-1].numeric:
        raise ValueError("with_total needs a numeric last column")
    header = " ".join(c.head() for c in columns)
    lines = [title, "=" * len(title), header, "-" * len(header)]
    lines += [" ".join(c.cell(row[c.key]) for c in columns) for row in rows]
    if with_total:
        last = columns[-1]
        total = sum(row[last.key] for row in rows)
        label_width = len(header) - last.width - 1
        lines += ["-" * len(header), f"{'TOTAL':<{label_width}} {last.cell(total)}"]
    return "\n".join(lines)


SALES_COLUMNS = [
    Column("Date", "date", 10),
    Column("Customer", "customer", 20),
    Column("Amount", "amount", 10, numeric=True),
]

REFUND_COLUMNS = [
    Column("Date", "date", 10),
    Column("Order", "order", 8),
    Column("Reason", "reason", 24),
    Column("Amount", "amount", 10, numeric=True),
]


def format_sales_report(rows):
    return format_table("SALES REPORT", SALES_COLUMNS, rows, with_total=True)


def format_refund_report(rows):
    return format_table("REFUND REPORT", REFUND_COLUMNS, rows, with_total=True)
