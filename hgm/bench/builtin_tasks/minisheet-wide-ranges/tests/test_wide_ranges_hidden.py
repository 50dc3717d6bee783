import unittest

from minisheet.cells import column_name
from minisheet.formula import expand_range, parse, references
from minisheet.sheet import Sheet


class WideRangeTest(unittest.TestCase):
    def setUp(self):
        self.sheet = Sheet()
        for index in range(30):  # A1 .. AD1 hold 1 .. 30
            self.sheet.set(f"{column_name(index)}1", index + 1)
        for col, value in zip(("Y", "Z", "AA", "AB"), (1, 2, 4, 8)):
            self.sheet.set(f"{col}2", value)

    def test_sum_across_z(self):
        self.sheet.set("A3", "=SUM(Y2:AB2)")
        self.assertEqual(self.sheet.value("A3"), 15)

    def test_count_and_avg_across_z(self):
        self.sheet.set("A4", "=COUNT(A1:AD1)")
        self.sheet.set("A5", "=AVG(AA1:AD1)")
        self.assertEqual(self.sheet.value("A4"), 30)
        self.assertEqual(self.sheet.value("A5"), 28.5)

    def test_two_dimensional_wide_range(self):
        self.sheet.set("A6", "=SUM(Z1:AA2)")
        self.assertEqual(self.sheet.value("A6"), 26 + 27 + 2 + 4)

    def test_expand_range_names(self):
        self.assertEqual(expand_range("Y1:AB1"), ["Y1", "Z1", "AA1", "AB1"])
        self.assertEqual(expand_range("AZ2:BA1"), ["AZ1", "BA1", "AZ2", "BA2"])
        self.assertEqual(len(expand_range("A1:ZZ1")), 702)
        self.assertEqual(expand_range("ZZ1:AAA1"), ["ZZ1", "AAA1"])

    def test_references_and_dependents(self):
        self.sheet.set("B3", "=SUM(Y2:AB2) + AC1")
        self.assertEqual(references(parse("=SUM(Y2:AB2) + AC1")),
                         ["Y2", "Z2", "AA2", "AB2", "AC1"])
        self.assertEqual(self.sheet.dependents("AA2"), ["B3"])
        self.assertEqual(self.sheet.dependents("AB2"), ["B3"])

    def test_narrow_ranges_unchanged(self):
        self.sheet.set("C3", "=SUM(A1:C1)")
        self.sheet.set("C4", "=MAX($C$1:A1)")
        self.assertEqual((self.sheet.value("C3"), self.sheet.value("C4")), (6, 3))


if __name__ == "__main__":
    unittest.main()
