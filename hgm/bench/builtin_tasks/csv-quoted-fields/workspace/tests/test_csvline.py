import unittest

from csvline import parse_line, read_rows


class CsvLineTest(unittest.TestCase):
    def test_plain_fields(self):
        self.assertEqual(parse_line("a,b,c"), ["a", "b", "c"])

    def test_empty_fields(self):
        self.assertEqual(parse_line("a,,c,"), ["a", "", "c", ""])

    def test_read_rows(self):
        rows = read_rows("id,name\n1,Ann\n2,Bob\n")
        self.assertEqual(rows, [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}])


if __name__ == "__main__":
    unittest.main()
