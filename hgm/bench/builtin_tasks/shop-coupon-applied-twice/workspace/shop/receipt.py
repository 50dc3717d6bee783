"""Plain-text receipt."""

from shop.checkout import summarize
from shop.money import fmt


def receipt(cart):
    s = summarize(cart)
    lines = []
    for sku, qty in sorted(cart.lines.items()):
        product = cart.catalog.get(sku)
        lines.append(f"{qty} x {product.name:<20} {fmt(cart.line_total(sku)):>10}")
    lines.append(f"{'Subtotal':<24} {fmt(s.subtotal):>10}")
    if s.discount:
        lines.append(f"{'Discount ' + cart.coupon.code:<24} {fmt(-s.discount):>10}")
    lines.append(f"{'Tax':<24} {fmt(s.tax):>10}")
    lines.append(f"{'Shipping':<24} {fmt(s.shipping):>10}")
    lines.append(f"{'Total':<24} {fmt(s.total):>10}")
    return "\n".join(lines)
