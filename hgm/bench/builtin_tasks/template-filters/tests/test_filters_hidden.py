import unittest

from templating import TemplateError, render


class Person:
    def __init__(self, name):
        self.name = name


class CaseFilterTest(unittest.TestCase):
    def test_upper_lower_title(self):
        ctx = {"name": "ada LOVELACE"}
        self.assertEqual(render("{{ name|upper }}", ctx), "ADA LOVELACE")
        self.assertEqual(render("{{ name|lower }}", ctx), "ada lovelace")
        self.assertEqual(render("{{ name|title }}", ctx), "Ada Lovelace")

    def test_spaces_around_pipe(self):
        self.assertEqual(render("[{{ name | upper }}]", {"name": "x"}), "[X]")

    def test_dotted_name_and_attributes(self):
        self.assertEqual(render("{{ p.name|upper }}", {"p": Person("bo")}), "BO")

    def test_non_string_value(self):
        self.assertEqual(render("{{ n|truncate:2 }}", {"n": 12345}), "12...")


class DefaultFilterTest(unittest.TestCase):
    def test_missing_variable_uses_default(self):
        self.assertEqual(render('Hi {{ nick|default:"friend" }}!', {}), "Hi friend!")

    def test_none_uses_default(self):
        self.assertEqual(render('{{ nick|default:"friend" }}', {"nick": None}), "friend")

    def test_present_value_wins(self):
        self.assertEqual(render('{{ nick|default:"friend" }}', {"nick": "zed"}), "zed")

    def test_default_then_upper(self):
        self.assertEqual(render('{{ nick | default : "anon" | upper }}', {}), "ANON")

    def test_default_argument_may_contain_specials(self):
        self.assertEqual(render('{{ x|default:"a|b: c" }}', {}), "a|b: c")

    def test_missing_without_default_still_errors(self):
        with self.assertRaises(TemplateError):
            render("{{ nick|upper }}", {})


class TruncateJoinTest(unittest.TestCase):
    def test_truncate_long_text(self):
        self.assertEqual(render("{{ t|truncate:5 }}", {"t": "abcdefgh"}), "abcde...")

    def test_truncate_short_and_exact_text_unchanged(self):
        self.assertEqual(render("{{ t|truncate:5 }}", {"t": "abc"}), "abc")
        self.assertEqual(render("{{ t|truncate:5 }}", {"t": "abcde"}), "abcde")

    def test_join(self):
        self.assertEqual(render('{{ tags|join:", " }}', {"tags": ["a", "b", 3]}), "a, b, 3")

    def test_chain_left_to_right(self):
        ctx = {"tags": ["red", "green", "blue"]}
        self.assertEqual(render('{{ tags|join:"/"|truncate:7|upper }}', ctx), "RED/GRE...")
        self.assertEqual(render('{{ tags|join:"/"|upper|truncate:3 }}', ctx), "RED...")


class FilterErrorTest(unittest.TestCase):
    def test_unknown_filter_named(self):
        with self.assertRaises(TemplateError) as cm:
            render("{{ x|shout }}", {"x": "a"})
        self.assertIn("shout", str(cm.exception))

    def test_truncate_needs_integer(self):
        with self.assertRaises(TemplateError) as cm:
            render('{{ x|truncate:"5" }}', {"x": "abcdefgh"})
        self.assertIn("truncate", str(cm.exception))
        with self.assertRaises(TemplateError):
            render("{{ x|truncate }}", {"x": "abcdefgh"})


class NoFilterTest(unittest.TestCase):
    def test_plain_rendering_unchanged(self):
        self.assertEqual(render("{{a}}-{{ b.c }}", {"a": 1, "b": {"c": None}}), "1-None")


if __name__ == "__main__":
    unittest.main()
