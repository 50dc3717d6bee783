"""Stock keeping for a small shop: purchase lots, FIFO costing, valuation and reorders.

Every purchase is a *lot*: a quantity bought at a unit cost (integer cents). Sales and
write-offs take goods from the oldest lots first (first in, first out), and the cost
of what was taken is the cost of goods sold. Every change is also recorded as a
:class:`Movement`, so reports can be rebuilt from the history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace


class StockError(ValueError):
    """A stock operation was not possible (unknown item, not enough goods, ...)."""


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    reorder_point: int = 0
    reorder_quantity: int = 0


@dataclass(frozen=True)
class Lot:
    received: dt.date
    quantity: int
    unit_cost: int


@dataclass(frozen=True)
class Movement:
    """One change of stock: positive quantities come in, negative ones go out."""

    day: dt.date
    sku: str
    kind: str  # "purchase", "sale", "write-off", "return"
    quantity: int
    cost: int
    price: int = 0


class Inventory:
    """The items a shop stocks, their lots, and the history of movements."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._lots: dict[str, list[Lot]] = defaultdict(list)
        self.movements: list[Movement] = []

    # -- catalogue -------------------------------------------------------------

    def add_item(self, sku, name, reorder_point=0, reorder_quantity=0) -> Item:
        if sku in self._items:
            raise StockError(f"{sku}: already in the catalogue")
        item = Item(sku, name, reorder_point, reorder_quantity)
        self._items[sku] = item
        return item

    def item(self, sku) -> Item:
        try:
            return self._items[sku]
        except KeyError:
            raise StockError(f"{sku}: not in the catalogue") from None

    def skus(self) -> list:
        return sorted(self._items)

    # -- movements -------------------------------------------------------------

    def receive(self, sku, quantity, unit_cost, day) -> None:
        """Book a purchase of ``quantity`` units at ``unit_cost`` cents each."""
        self.item(sku)
        if quantity <= 0 or unit_cost < 0:
            raise StockError(f"{sku}: bad purchase {quantity} x {unit_cost}")
        self._lots[sku].append(Lot(day, quantity, unit_cost))
        self.movements.append(Movement(day, sku, "purchase", quantity, quantity * unit_cost))

    def sell(self, sku, quantity, unit_price, day) -> int:
        """Book a sale; return its cost of goods sold in cents."""
        cost = self._take(sku, quantity)
        self.movements.append(Movement(day, sku, "sale", -quantity, cost, quantity * unit_price))
        return cost

    def write_off(self, sku, quantity, day) -> int:
        """Remove damaged or lost goods; return the cost written off."""
        cost = self._take(sku, quantity)
        self.movements.append(Movement(day, sku, "write-off", -quantity, cost))
        return cost

    def return_to_stock(self, sku, quantity, unit_cost, day) -> None:
        """Put returned goods back as a new lot at the cost they were sold at."""
        self.item(sku)
        if quantity <= 0:
            raise StockError(f"{sku}: bad return quantity {quantity}")
        self._lots[sku].append(Lot(day, quantity, unit_cost))
        self.movements.append(Movement(day, sku, "return", quantity, quantity * unit_cost))

    def _take(self, sku, quantity) -> int:
        """Remove ``quantity`` units from the oldest lots; return their total cost."""
        self.item(sku)
        if quantity <= 0:
            raise StockError(f"{sku}: bad quantity {quantity}")
        if quantity > self.on_hand(sku):
            raise StockError(f"{sku}: only {self.on_hand(sku)} on hand, {quantity} wanted")
        lots = self._lots[sku]
        remaining = quantity
        cost = 0
        while remaining:
            lot = lots[0]
            take = min(lot.quantity, remaining)
            cost += take * lot.unit_cost
            remaining -= take
            if take == lot.quantity:
                lots.pop(0)
            else:
                lots[0] = replace(lot, quantity=lot.quantity - take)
        return cost

    # -- reports ---------------------------------------------------------------

    def lots(self, sku) -> list:
        """The lots still (partly) in stock, oldest first."""
        self.item(sku)
        return list(self._lots[sku])

    def on_hand(self, sku) -> int:
        return sum(lot.quantity for lot in self._lots[sku])

    def valuation(self, sku=None) -> int:
        """The cost of the goods in stock, for one item or for all of them."""
        skus = [sku] if sku else self.skus()
        return sum(lot.quantity * lot.unit_cost for s in skus for lot in self._lots[s])

    def gross_margin(self, start, end) -> dict:
        """Revenue, cost of goods sold and margin of the sales between two days."""
        revenue = cost = 0
        for move in self.movements:
            if move.kind == "sale" and start <= move.day <= end:
                revenue += move.price
                cost += move.cost
        return {"revenue": revenue, "cogs": cost, "margin": revenue - cost}

    def average_daily_sales(self, sku, end, days=28) -> float:
        """Units sold per day over the ``days`` days up to and including ``end``."""
        start = end - dt.timedelta(days=days - 1)
        sold = sum(
            -m.quantity
            for m in self.movements
            if m.sku == sku and m.kind == "sale" and start <= m.day <= end
        )
        return sold / days

    def reorder_list(self) -> list:
        """(sku, quantity) for every item at or below its reorder point."""
        orders = []
        for sku in self.skus():
            item = self._items[sku]
            if item.reorder_quantity and self.on_hand(sku) <= item.reorder_point:
                orders.append((sku, item.reorder_quantity))
        return orders

    def stock_report(self) -> str:
        """A fixed-width table of every item's stock and value."""
        lines = [f"{'SKU':<10} {'Name':<20} {'On hand':>8} {'Value':>10}"]
        for sku in self.skus():
            value = self.valuation(sku)
            lines.append(
                f"{sku:<10} {self._items[sku].name[:20]:<20} "
                f"{self.on_hand(sku):>8} {value // 100:>7}.{value % 100:02d}"
            )
        return "\n".join(lines)
