import unittest

from minisheet.cells import column_index, column_name, parse_ref
from minisheet.formula import FormulaError, expand_range, normalize_range, parse
from minisheet.sheet import Sheet


class SheetTest(unittest.TestCase):
    def test_columns(self):
        self.assertEqual(column_index("AA"), 26)
        self.assertEqual(column_name(51), "AZ")
        self.assertEqual(parse_ref("$B$3"), (1, 2))

    def test_ranges(self):
        self.assertEqual(expand_range("A1:B2"), ["A1", "B1", "A2", "B2"])
        self.assertEqual(normalize_range("$C$3:a1"), "A1:C3")

    def test_formulas(self):
        sheet = Sheet()
        sheet.set("A1", 2)
        sheet.set("A2", 3)
        sheet.set("B1", "=SUM(A1:A2) * 2")
        sheet.set("AA1", 10)
        sheet.set("B2", '=IF(AA1 > 5, "big", "small")')
        self.assertEqual(sheet.value("B1"), 10)
        self.assertEqual(sheet.value("B2"), "big")
        self.assertEqual(sheet.dependents("A2"), ["B1"])

    def test_errors(self):
        sheet = Sheet()
        sheet.set("A1", "=1/0")
        sheet.set("A2", "=A2+1")
        self.assertEqual(sheet.value("A1"), "#DIV/0!")
        self.assertEqual(sheet.value("A2"), "#CYCLE!")
        with self.assertRaises(FormulaError):
            parse("=A1:A2")


if __name__ == "__main__":
    unittest.main()
