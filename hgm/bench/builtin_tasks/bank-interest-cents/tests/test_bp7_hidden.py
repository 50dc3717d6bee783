import unittest
from decimal import Decimal

from bank.currency import convert
from bank.fees import wire_fee
from bank.interest import monthly_interest
from bank.products import get_product
from bank.rounding import to_money
from bank.service import Bank

D = Decimal


class RoundingPolicyTest(unittest.TestCase):
    def test_halves_round_up(self):
        for value, expected in [("12.345", "12.35"), ("0.125", "0.13"), ("2.675", "2.68"),
                                ("1.005", "1.01"), ("0.005", "0.01")]:
            with self.subTest(value=value):
                self.assertEqual(to_money(D(value)), D(expected))

    def test_negative_halves_round_away_from_zero(self):
        self.assertEqual(to_money(D("-0.125")), D("-0.13"))
        self.assertEqual(to_money(D("-12.345")), D("-12.35"))

    def test_below_half_rounds_down(self):
        self.assertEqual(to_money(D("12.3449")), D("12.34"))
        self.assertEqual(to_money(D("7")), D("7.00"))

    def test_large_amounts_keep_precision(self):
        self.assertEqual(to_money(D("123456789012.345")), D("123456789012.35"))

    def test_result_is_decimal_with_cents(self):
        result = to_money(D("3.1"))
        self.assertIsInstance(result, Decimal)
        self.assertEqual(result.as_tuple().exponent, -2)


class ComputedAmountsTest(unittest.TestCase):
    def test_interest(self):
        self.assertEqual(monthly_interest(D("1234.50"), get_product("savings")), D("12.35"))
        self.assertEqual(monthly_interest(D("8.20"), get_product("premium")), D("0.10"))

    def test_wire_fee(self):
        self.assertEqual(wire_fee(D("1229.00")), D("6.15"))
        self.assertEqual(wire_fee(D("100.00")), D("1.00"))

    def test_currency_conversion(self):
        self.assertEqual(convert(D("12.50"), "USD", "EUR"), D("11.50"))
        self.assertEqual(convert(D("0.50"), "USD", "GBP"), D("0.40"))
        self.assertEqual(convert(D("10.00"), "USD", "JPY"), D("1514.00"))


class StatementTest(unittest.TestCase):
    def test_reported_case(self):
        bank = Bank()
        acc = bank.open_account("c1", "savings")
        bank.deposit(acc, "1234.50", "2024-03-04")
        statement = bank.month_end("2024-03")[acc]
        self.assertEqual(statement.total("interest"), D("12.35"))
        self.assertEqual(statement.closing, D("1246.85"))
        self.assertEqual(bank.balance(acc), D("1246.85"))

    def test_wire_transfer_statement(self):
        bank = Bank()
        src = bank.open_account("c1", "checking")
        dst = bank.open_account("c2", "savings", currency="GBP")
        bank.deposit(src, "2000.00", "2024-03-01")
        received, fee = bank.transfer(src, dst, "1229.00", "2024-03-02", wire=True)
        self.assertEqual((received, fee), (D("970.91"), D("6.15")))
        self.assertEqual(bank.balance(src), D("764.85"))


if __name__ == "__main__":
    unittest.main()
