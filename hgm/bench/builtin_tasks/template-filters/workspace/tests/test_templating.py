import unittest

from templating import TemplateError, render


class RenderTest(unittest.TestCase):
    def test_plain_and_dotted(self):
        ctx = {"user": {"name": "ada"}, "count": 3}
        self.assertEqual(render("Hi {{ user.name }}, {{count}} new", ctx), "Hi ada, 3 new")

    def test_missing(self):
        with self.assertRaises(TemplateError):
            render("{{ nope }}", {})


if __name__ == "__main__":
    unittest.main()
