class OutOfStock(Exception):
    pass


class Inventory:
    def __init__(self, stock):
        self.stock = dict(stock)

    def reserve(self, lines):
        """Take the items of ``lines`` [(sku, qty), ...] out of stock, all or nothing."""
        for sku, qty in lines:
            if self.stock.get(sku, 0) < qty:
                raise OutOfStock(sku)
        for sku, qty in lines:
            self.stock[sku] -= qty

    def release(self, lines):
        for sku, qty in lines:
            self.stock[sku] = self.stock.get(sku, 0) + qty
