import unittest
from decimal import Decimal

from shop.cart import Cart
from shop.catalog import Catalog, Product
from shop.checkout import summarize
from shop.discounts import FixedCoupon, PercentCoupon
from shop.receipt import receipt


def catalog():
    return Catalog(
        [Product("mug", "Mug", 1250), Product("tee", "T-shirt", 2000), Product("pen", "Pen", 199)]
    )


class CouponTest(unittest.TestCase):
    def cart(self, coupon=None, **quantities):
        cart = Cart(catalog())
        for sku, qty in quantities.items():
            cart.add(sku, qty)
        if coupon is not None:
            cart.apply_coupon(coupon)
        return cart

    def test_cart_subtotal_is_before_coupon(self):
        cart = self.cart(PercentCoupon("TEN", Decimal(10)), mug=2)
        self.assertEqual(cart.subtotal(), 2500)

    def test_percent_coupon_applied_once(self):
        s = summarize(self.cart(PercentCoupon("TEN", Decimal(10)), mug=2, tee=1))
        self.assertEqual((s.subtotal, s.discount), (4500, 450))
        self.assertEqual(s.tax, 324)
        self.assertEqual(s.shipping, 499)
        self.assertEqual(s.total, 4500 - 450 + 324 + 499)

    def test_fixed_coupon_applied_once(self):
        s = summarize(self.cart(FixedCoupon("FIVE", 500), tee=1))
        self.assertEqual((s.subtotal, s.discount, s.tax), (2000, 500, 120))
        self.assertEqual(s.total, 1500 + 120 + 499)

    def test_fixed_coupon_capped_at_subtotal(self):
        s = summarize(self.cart(FixedCoupon("BIG", 10_000), pen=2))
        self.assertEqual((s.subtotal, s.discount, s.tax), (398, 398, 0))
        self.assertEqual(s.total, 499)

    def test_free_shipping_uses_discounted_amount(self):
        s = summarize(self.cart(PercentCoupon("TEN", Decimal(10)), tee=3))
        self.assertEqual((s.subtotal, s.discount, s.shipping), (6000, 600, 0))
        s = summarize(self.cart(PercentCoupon("TWENTY", Decimal(20)), tee=3))
        self.assertEqual((s.discount, s.shipping), (1200, 499))

    def test_no_coupon_unchanged(self):
        s = summarize(self.cart(mug=1, pen=1))
        self.assertEqual((s.subtotal, s.discount, s.tax, s.total), (1449, 0, 116, 1449 + 116 + 499))

    def test_receipt_lines(self):
        text = receipt(self.cart(PercentCoupon("TEN", Decimal(10)), mug=2))
        self.assertIn("Subtotal                     $25.00", text)
        self.assertIn("Discount TEN                 -$2.50", text)
        self.assertIn("Total                        $29.29", text)


if __name__ == "__main__":
    unittest.main()
