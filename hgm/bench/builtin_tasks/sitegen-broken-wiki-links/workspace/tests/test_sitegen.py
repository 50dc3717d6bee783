import unittest

from sitegen.markup import render
from sitegen.pages import parse_page
from sitegen.site import build_site, check
from sitegen.text import slugify

HOME = "title: Home\n---\nWelcome! See [[Release checklist]] and [[Nowhere]].\n"
CHECKLIST = "title: Release checklist\ntags: process\n---\n# Steps\n\n- *tag* it\n- `push` it\n"


class SiteTest(unittest.TestCase):
    def test_slugify(self):
        self.assertEqual(slugify("Crème brûlée & Co."), "creme-brulee-co")

    def test_parse_page(self):
        page = parse_page(CHECKLIST)
        self.assertEqual((page.title, page.tags, page.url),
                         ("Release checklist", ("process",), "/release-checklist.html"))

    def test_markup(self):
        html = render("# Hi there\n\nsome **bold** text", lambda target, label: "")
        self.assertEqual(html, '<h1 id="hi-there">Hi there</h1>\n<p>some <strong>bold</strong> text</p>')

    def test_build_and_check(self):
        files = build_site([HOME, CHECKLIST])
        self.assertIn('<a href="/release-checklist.html">Release checklist</a>', files["home.html"])
        self.assertIn('class="broken" href="/new?title=Nowhere"', files["home.html"])
        self.assertEqual(check([HOME, CHECKLIST]), ["Home: [[Nowhere]] points to no page"])


if __name__ == "__main__":
    unittest.main()
