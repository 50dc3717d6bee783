"""Order summary at checkout."""

from dataclasses import dataclass

from shop.tax import DEFAULT_RATE, tax_on

SHIPPING = 499
FREE_SHIPPING_FROM = 5000


@dataclass(frozen=True)
class Summary:
    subtotal: int
    discount: int
    tax: int
    shipping: int
    total: int


def summarize(cart, tax_rate=DEFAULT_RATE):
    subtotal = cart.subtotal()
    discount = cart.coupon.discount_for(subtotal) if cart.coupon else 0
    net = subtotal - discount
    tax = tax_on(net, tax_rate)
    shipping = 0 if net >= FREE_SHIPPING_FROM or not cart.lines else SHIPPING
    return Summary(subtotal, discount, tax, shipping, net + tax + shipping)
