import unittest

from splitbill import Group, SplitError, format_amount, parse_amount, split_amount


class SplitBillTest(unittest.TestCase):
    def test_amounts(self):
        self.assertEqual(parse_amount("12.5"), 1250)
        self.assertEqual(format_amount(-705), "-7.05")

    def test_even_split(self):
        self.assertEqual(split_amount(900, ["a", "b", "c"]), {"a": 300, "b": 300, "c": 300})

    def test_exact_split_must_add_up(self):
        with self.assertRaises(SplitError):
            split_amount(1000, ["a", "b"], "exact", {"a": 500, "b": 400})

    def test_balances_and_settle(self):
        group = Group()
        for name in ("ann", "bob"):
            group.add_member(name)
        group.add_expense("taxi", "ann", 3000)
        self.assertEqual(group.balances(), {"ann": 1500, "bob": -1500})
        self.assertEqual([str(t) for t in group.settle_up()], ["bob pays ann 15.00"])


if __name__ == "__main__":
    unittest.main()
