"""Coupons. `discount_for(amount)` is what the coupon takes off `amount` (never more)."""

from dataclasses import dataclass
from decimal import Decimal

from shop.money import round_cents


@dataclass(frozen=True)
class PercentCoupon:
    code: str
    percent: Decimal

    def discount_for(self, amount):
        return min(amount, round_cents(Decimal(amount) * Decimal(self.percent) / 100))


@dataclass(frozen=True)
class FixedCoupon:
    code: str
    cents: int

    def discount_for(self, amount):
        return min(amount, self.cents)
