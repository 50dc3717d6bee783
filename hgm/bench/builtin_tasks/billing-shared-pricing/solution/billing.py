"""Quotes and invoices for the wholesale shop.

Prices are Decimal amounts in euros. Pricing rules:

- volume discount per line: 5 % from 10 units, 10 % from 50 units;
- loyalty discount per customer tier: silver 3 %, gold 5 %;
- the two discounts add up, but never to more than 12 %;
- net amount per line = unit price x quantity x (1 - discount), rounded to cents;
- VAT per line = net x the rate of the product's tax class, rounded to cents
  (customers with a VAT number outside France pay no VAT: reverse charge);
- totals are the sums of the rounded line amounts.

Amounts are rounded half up, as our accountant requires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
VAT_RATES = {"standard": Decimal("0.20"), "reduced": Decimal("0.055"), "zero": Decimal("0")}
TIER_DISCOUNTS = {"regular": Decimal("0"), "silver": Decimal("0.03"), "gold": Decimal("0.05")}
VOLUME_STEPS = ((50, Decimal("0.10")), (10, Decimal("0.05")))
MAX_DISCOUNT = Decimal("0.12")
HOME_COUNTRY = "FR"


class BillingError(ValueError):
    """An order line or customer cannot be billed."""


def cents(amount) -> Decimal:
    """``amount`` rounded half up to whole cents."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """1234.5 -> '1 234.50 EUR' (thin grouping as on our printed documents)."""
    sign = "-" if amount < 0 else ""
    whole, _, frac = f"{abs(cents(amount)):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)}.{frac} EUR"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price: Decimal
    tax_class: str = "standard"


@dataclass(frozen=True)
class Customer:
    name: str
    tier: str = "regular"
    country: str = HOME_COUNTRY
    vat_number: str | None = None

    @property
    def reverse_charge(self) -> bool:
        """Business customers elsewhere in the EU account for VAT themselves."""
        return bool(self.vat_number) and self.country != HOME_COUNTRY


@dataclass(frozen=True)
class Line:
    product: Product
    quantity: int


def check_lines(lines) -> None:
    if not lines:
        raise BillingError("nothing to bill")
    for line in lines:
        if line.quantity <= 0:
            raise BillingError(f"{line.product.sku}: quantity must be positive")
        if line.product.tax_class not in VAT_RATES:
            raise BillingError(f"{line.product.sku}: unknown tax class")


def check_customer(customer: Customer) -> None:
    if customer.tier not in TIER_DISCOUNTS:
        raise BillingError(f"{customer.name}: unknown tier {customer.tier!r}")


def volume_discount(quantity: int) -> Decimal:
    for threshold, rate in VOLUME_STEPS:
        if quantity >= threshold:
            return rate
    return Decimal("0")


def next_invoice_number(year: int, last: str | None) -> str:
    """'2024-0001', '2024-0002', ...; numbering restarts every year."""
    if last and last.startswith(f"{year}-"):
        return f"{year}-{int(last.split('-')[1]) + 1:04d}"
    return f"{year}-0001"


@dataclass(frozen=True)
class PricedLine:
    """One order line with the pricing rules of the module docstring applied."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    discount_rate: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def price_lines(lines, customer: Customer) -> list:
    """Apply discounts and VAT to every line; the one pricing path for every document."""
    check_lines(lines)
    check_customer(customer)
    priced = []
    for line in lines:
        rate = volume_discount(line.quantity) + TIER_DISCOUNTS[customer.tier]
        rate = min(rate, MAX_DISCOUNT)
        net = cents(line.product.unit_price * line.quantity * (1 - rate))
        vat_rate = Decimal("0") if customer.reverse_charge else VAT_RATES[line.product.tax_class]
        priced.append(PricedLine(line.product.sku, line.product.name, line.quantity,
                                 line.product.unit_price, rate, net, cents(net * vat_rate)))
    return priced


def summarize(priced) -> Totals:
    """The totals of priced lines: sums of the rounded line amounts."""
    return Totals(
        sum((p.net for p in priced), Decimal("0")),
        sum((p.vat for p in priced), Decimal("0")),
    )


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: Customer
    issued: dt.date
    rows: tuple  # (sku, quantity, unit price, discount rate, net, vat)
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def render(self) -> str:
        lines = [f"INVOICE {self.number}  {self.issued.isoformat()}", self.customer.name, ""]
        for sku, qty, unit, rate, net, vat in self.rows:
            lines.append(f"{sku:<8} {qty:>4} x {unit:>8}  -{rate * 100:>4.1f}%  {net:>10}  VAT {vat:>8}")
        lines.append("")
        lines.append(f"Net    {format_money(self.net):>16}")
        lines.append(f"VAT    {format_money(self.vat):>16}")
        if self.customer.reverse_charge:
            lines.append("VAT reverse charged (art. 196 Directive 2006/112/EC)")
        lines.append(f"Total  {format_money(self.gross):>16}")
        return "\n".join(lines)


def invoice(lines, customer: Customer, number: str, issued: dt.date) -> Invoice:
    """The invoice for ``lines``."""
    priced = price_lines(lines, customer)
    rows = tuple((p.sku, p.quantity, p.unit_price, p.discount_rate, p.net, p.vat) for p in priced)
    totals = summarize(priced)
    return Invoice(number, customer, issued, rows, totals.net, totals.vat)


def quote(lines, customer: Customer, valid_until: dt.date) -> str:
    """A quote to e-mail to the customer: one line per product, then the totals."""
    priced = price_lines(lines, customer)
    text = [f"Quote for {customer.name}, valid until {valid_until.isoformat()}"]
    for p in priced:
        text.append(f"  {p.quantity} x {p.name}: {format_money(p.net)}")
    totals = summarize(priced)
    text.append(f"Net {format_money(totals.net)}, VAT {format_money(totals.vat)}, "
                f"total {format_money(totals.gross)}")
    return "\n".join(text)
