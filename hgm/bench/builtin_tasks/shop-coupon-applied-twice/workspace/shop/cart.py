"""A shopping cart: quantities per product, and at most one coupon."""


class Cart:
    def __init__(self, catalog):
        self.catalog = catalog
        self.lines = {}
        self.coupon = None

    def add(self, sku, quantity=1):
        self.catalog.get(sku)  # fail early on unknown products
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        self.lines[sku] = self.lines.get(sku, 0) + quantity

    def remove(self, sku):
        self.lines.pop(sku, None)

    def apply_coupon(self, coupon):
        self.coupon = coupon

    def line_total(self, sku):
        return self.catalog.price(sku) * self.lines[sku]

    def subtotal(self):
        total = sum(self.line_total(sku) for sku in self.lines)
        if self.coupon is not None:
            total -= self.coupon.discount_for(total)
        return total
