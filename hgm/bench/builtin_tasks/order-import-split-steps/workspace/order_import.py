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


def import_orders(text: str) -> ImportReport:
    """Read the CSV ``text`` and return the valid orders and the problems found."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed(f"missing columns: {', '.join(missing)}")
    errors = []
    orders = {}
    bad_orders = set()
    for number, row in enumerate(reader, start=2):
        order_id = (row["order_id"] or "").strip().upper()
        if not _ORDER_ID.match(order_id):
            errors.append(f"line {number}: bad order id {row['order_id']!r}")
            continue
        customer = (row["customer"] or "").strip().lower()
        if not _EMAIL.match(customer):
            errors.append(f"line {number}: bad customer e-mail {row['customer']!r}")
            continue
        date = parse_date(row["date"] or "")
        if date is None:
            errors.append(f"line {number}: bad date {row['date']!r}")
            continue
        sku = (row["sku"] or "").strip().upper()
        if not _SKU.match(sku):
            errors.append(f"line {number}: bad SKU {row['sku']!r}")
            continue
        quantity_text = (row["quantity"] or "").strip()
        if not quantity_text.isdigit() or not 0 < int(quantity_text) <= MAX_QUANTITY:
            errors.append(f"line {number}: bad quantity {row['quantity']!r}")
            continue
        quantity = int(quantity_text)
        price = parse_price(row["unit_price"] or "")
        if price is None:
            errors.append(f"line {number}: bad unit price {row['unit_price']!r}")
            continue
        order = orders.get(order_id)
        if order is None:
            order = orders[order_id] = Order(order_id, customer, date)
        elif order.customer != customer or order.date != date:
            errors.append(f"line {number}: order {order_id} has another customer or date "
                          f"on an earlier line")
            bad_orders.add(order_id)
            continue
        for index, line in enumerate(order.lines):
            if line.sku == sku:
                if line.unit_price != price:
                    errors.append(f"line {number}: {sku} in order {order_id} "
                                  f"has two different prices")
                    bad_orders.add(order_id)
                else:
                    order.lines[index] = OrderLine(sku, line.quantity + quantity, price)
                break
        else:
            order.lines.append(OrderLine(sku, quantity, price))
    kept = [order for order_id, order in orders.items() if order_id not in bad_orders]
    return ImportReport(kept, errors)
