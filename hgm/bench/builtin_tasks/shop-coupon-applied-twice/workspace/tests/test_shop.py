import unittest

from shop.cart import Cart
from shop.catalog import Catalog, Product
from shop.checkout import summarize


class ShopTest(unittest.TestCase):
    def setUp(self):
        self.catalog = Catalog([Product("mug", "Mug", 1250), Product("tee", "T-shirt", 2000)])

    def test_summary_without_coupon(self):
        cart = Cart(self.catalog)
        cart.add("mug", 2)
        s = summarize(cart)
        self.assertEqual((s.subtotal, s.discount, s.tax, s.shipping), (2500, 0, 200, 499))
        self.assertEqual(s.total, 3199)

    def test_unknown_product(self):
        with self.assertRaises(KeyError):
            Cart(self.catalog).add("hat")


if __name__ == "__main__":
    unittest.main()
