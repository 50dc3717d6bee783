import random
import unittest

from splitbill import Group, split_amount


class AllocationTest(unittest.TestCase):
    def test_three_way_split_of_100(self):
        self.assertEqual(split_amount(10000, ["a", "b", "c"]), {"a": 3334, "b": 3333, "c": 3333})

    def test_leftover_cents_go_to_first_listed_on_ties(self):
        self.assertEqual(split_amount(200, ["x", "y", "z"]), {"x": 67, "y": 67, "z": 66})
        self.assertEqual(split_amount(200, ["z", "y", "x"]), {"z": 67, "y": 67, "x": 66})

    def test_shares_use_largest_fractional_part(self):
        parts = split_amount(100, ["a", "b", "c", "d"], "shares", {"a": 1, "b": 1, "c": 1, "d": 3})
        self.assertEqual(parts, {"a": 17, "b": 17, "c": 16, "d": 50})
        parts = split_amount(1000, ["p", "q"], "shares", {"p": 1, "q": 2})
        self.assertEqual(parts, {"p": 333, "q": 667})

    def test_percent_split_adds_up(self):
        parts = split_amount(999, ["a", "b", "c"], "percent", {"a": 33.3, "b": 33.3, "c": 33.4})
        self.assertEqual(parts, {"a": 333, "b": 333, "c": 333})
        parts = split_amount(1001, ["a", "b"], "percent", {"a": 12.5, "b": 87.5})
        self.assertEqual(parts, {"a": 125, "b": 876})

    def test_parts_always_add_up(self):
        rng = random.Random(3)
        for _ in range(300):
            people = [f"p{i}" for i in range(rng.randint(1, 7))]
            amount = rng.randint(1, 100000)
            weights = {p: rng.randint(0, 9) for p in people}
            weights[people[0]] += 1
            with self.subTest(amount=amount, weights=weights):
                parts = split_amount(amount, people, "shares", weights)
                self.assertEqual(sum(parts.values()), amount)
                for p in people:
                    exact = amount * weights[p] / sum(weights.values())
                    self.assertLess(abs(parts[p] - exact), 1)

    def test_even_and_exact_splits_unchanged(self):
        self.assertEqual(split_amount(1200, ["a", "b", "c"]), {"a": 400, "b": 400, "c": 400})
        self.assertEqual(split_amount(1000, ["a", "b"], "exact", {"a": 1, "b": 999}), {"a": 1, "b": 999})


class GroupTest(unittest.TestCase):
    def setUp(self):
        self.group = Group()
        for name in ("ann", "bob", "cat"):
            self.group.add_member(name)

    def test_balances_sum_to_zero(self):
        self.group.add_expense("dinner", "ann", 10000)
        self.group.add_expense("wine", "bob", 2999, ["ann", "bob", "cat"], "shares",
                               {"ann": 1, "bob": 1, "cat": 5})
        balances = self.group.balances()
        self.assertEqual(sum(balances.values()), 0)
        self.assertEqual(balances, {"ann": 6237, "bob": -762, "cat": -5475})

    def test_settle_up_clears_every_balance(self):
        self.group.add_expense("dinner", "ann", 10000)
        transfers = self.group.settle_up()
        self.assertEqual(sum(t.amount for t in transfers if t.creditor == "ann"), 6666)
        self.assertEqual({t.debtor for t in transfers}, {"bob", "cat"})
        self.assertEqual(self.group.statement("ann"), ["dinner: paid 100.00, share 33.34"])


if __name__ == "__main__":
    unittest.main()
