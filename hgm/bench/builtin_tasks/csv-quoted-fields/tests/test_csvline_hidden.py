import unittest

from csvline import parse_line, read_rows


class QuotedFieldTest(unittest.TestCase):
    def test_comma_inside_quotes_is_literal(self):
        self.assertEqual(parse_line('1,"Smith, Jane",London'), ["1", "Smith, Jane", "London"])

    def test_several_delimiters_inside_one_field(self):
        self.assertEqual(parse_line('"a,b,c",d'), ["a,b,c", "d"])

    def test_doubled_quotes_with_comma(self):
        self.assertEqual(
            parse_line('x,"He said ""hi, you"" loudly",y'),
            ["x", 'He said "hi, you" loudly', "y"],
        )

    def test_other_delimiter_inside_quotes(self):
        self.assertEqual(parse_line('1;"a;b";"c,d"', delimiter=";"), ["1", "a;b", "c,d"])

    def test_comma_is_plain_text_with_semicolon_delimiter(self):
        self.assertEqual(parse_line("a,b;c", delimiter=";"), ["a,b", "c"])

    def test_quoted_empty_field(self):
        self.assertEqual(parse_line('"",x,""'), ["", "x", ""])

    def test_unterminated_quote_still_rejected(self):
        with self.assertRaises(ValueError):
            parse_line('1,"open, never closed')

    def test_read_rows_with_quoted_commas(self):
        text = 'id,name,city\n1,"Smith, Jane",London\n2,"Doe, John","Paris, FR"\n'
        self.assertEqual(
            read_rows(text),
            [
                {"id": "1", "name": "Smith, Jane", "city": "London"},
                {"id": "2", "name": "Doe, John", "city": "Paris, FR"},
            ],
        )


if __name__ == "__main__":
    unittest.main()
