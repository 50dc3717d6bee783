"""Import orders exported by the marketplace as CSV.

One row per order line::

    order_id,customer,date,sku,quantity,unit_price
    A-1001,ann@example.com,2024-05-01,MUG-01,2,9.50
    A-1001,ann@example.com,2024-05-01,TEA-07,1,4.25

Dates come as ``YYYY-MM-DD``, ``DD/MM/YYYY`` or ``DD.MM.YYYY``; prices use ``.`` or
``,`` as the decimal mark. Rows of the same order must agree on customer and date.
Several rows for the same SKU in one order are merged (quantities added; the unit
price must be the same). Invalid rows are reported and skipped; an order with any
inconsistent row is dropped entirely.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

COLUMNS = ("order_id", "customer", "date", "sku", "quantity", "unit_price")
_SKU = re.compile(r"^[A-Z]{2,5}-\d{2,4}$")
_ORDER_ID = re.compile(r"^[A-Z]-\d{3,6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y")
MAX_QUANTITY = 10_000


class ImportFailed(Exception):
    """The file as a whole cannot be imported (e.g. columns are missing)."""


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class Order:
    order_id: str
    customer: str
    date: dt.date
    lines: list = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass
class ImportReport:
    orders: list
    errors: list  # messages, in line order

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        total = sum((o.total for o in self.orders), Decimal("0"))
        return (f"{len(self.orders)} orders, {sum(len(o.lines) for o in self.orders)} lines, "
                f"total {total:.2f}, {len(self.errors)} errors")


def parse_date(text: str):
    """A date in one of the accepted formats, or None."""
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def parse_price(text: str):
    """A non-negative price with at most two decimals, or None."""
    cleaned = text.strip().replace(",", ".")
    if cleaned.count(".") > 1:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if value < 0 or value.as_tuple().exponent < -2:
        return None
    return value


def to_csv(orders) -> str:
    """Write orders back in the marketplace format (ISO dates, one row per line), e.g.
    to hand a cleaned file to the warehouse."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for order in orders:
        for line in order.lines:
            writer.writerow([order.order_id, order.customer, order.date.isoformat(),
                             line.sku, line.quantity, f"{line.unit_price:.2f}"])
    return out.getvalue()


class RowError(ValueError):
    """One row cannot be imported; ``str(error)`` is the message for the report."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class ParsedRow:
    """One valid CSV row, normalised."""

    line: int
    order_id: str
    customer: str
    date: dt.date
    sku: str
    quantity: int
    unit_price: Decimal


def parse_row(row: dict, line: int) -> ParsedRow:
    """Check and normalise one CSV row (``line`` is its line number in the file)."""
    order_id = (row["order_id"] or "").strip().upper()
    if not _ORDER_ID.match(order_id):
        raise RowError(line, f"bad order id {row['order_id']!r}")
    customer = (row["customer"] or "").strip().lower()
    if not _EMAIL.match(customer):
        raise RowError(line, f"bad customer e-mail {row['customer']!r}")
    date = parse_date(row["date"] or "")
    if date is None:
        raise RowError(line, f"bad date {row['date']!r}")
    sku = (row["sku"] or "").strip().upper()
    if not _SKU.match(sku):
        raise RowError(line, f"bad SKU {row['sku']!r}")
    quantity_text = (row["quantity"] or "").strip()
    if not quantity_text.isdigit() or not 0 < int(quantity_text) <= MAX_QUANTITY:
        raise RowError(line, f"bad quantity {row['quantity']!r}")
    price = parse_price(row["unit_price"] or "")
    if price is None:
        raise RowError(line, f"bad unit price {row['unit_price']!r}")
    return ParsedRow(line, order_id, customer, date, sku, int(quantity_text), price)


def _add_line(order: Order, row: ParsedRow) -> None:
    """Add ``row`` to ``order``, merging it with a line for the same SKU."""
    for index, line in enumerate(order.lines):
        if line.sku == row.sku:
            if line.unit_price != row.unit_price:
                raise RowError(row.line, f"{row.sku} in order {row.order_id} "
                                         f"has two different prices")
            order.lines[index] = OrderLine(row.sku, line.quantity + row.quantity, line.unit_price)
            return
    order.lines.append(OrderLine(row.sku, row.quantity, row.unit_price))


def group_rows(rows) -> tuple:
    """(orders, errors): the orders built from valid rows, in order of first
    appearance, without the orders that have an inconsistent row; and a RowError
    for every inconsistent row."""
    orders = {}
    bad_orders = set()
    errors = []
    for row in rows:
        order = orders.get(row.order_id)
        try:
            if order is None:
                order = orders[row.order_id] = Order(row.order_id, row.customer, row.date)
            elif order.customer != row.customer or order.date != row.date:
                raise RowError(row.line, f"order {row.order_id} has another customer or "
                                         f"date on an earlier line")
            _add_line(order, row)
        except RowError as error:
            errors.append(error)
            bad_orders.add(row.order_id)
    kept = [order for order_id, order in orders.items() if order_id not in bad_orders]
    return kept, errors


def import_orders(text: str) -> ImportReport:
    """Read the CSV ``text`` and return the valid orders and the problems found."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed(f"missing columns: {', '.join(missing)}")
    parsed, errors = [], []
    for number, row in enumerate(reader, start=2):
        try:
            parsed.append(parse_row(row, number))
        except RowError as error:
            errors.append(error)
    orders, group_errors = group_rows(parsed)
    errors = sorted(errors + group_errors, key=lambda error: error.line)
    return ImportReport(orders, [str(error) for error in errors])
