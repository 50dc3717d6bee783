import unittest

from sitegen.links import BrokenLink, LinkIndex
from sitegen.pages import parse_page
from sitegen.site import build_site, check

SOURCES = [
    "title: Home\n---\nStart with [[Q&A]], [[crème brûlée|dessert]], [[C++ tips#Move semantics]]"
    " and [[release  checklist]]. Also [[Missing page]].\n",
    "title: Q&A\naliases: FAQ, Questions & Answers\n---\nBack to [[home]]. See [[c++ TIPS]].\n",
    "title: Crème brûlée\n---\nAsk in [[faq]] or [[Q & A]] or [[Q-A]].\n",
    "title: C++ tips\n---\nRead [[Questions and answers]].\n",
    "title: Release checklist\n---\nOnly [[Home]].\n",
]


class WikiLinkTest(unittest.TestCase):
    def setUp(self):
        self.index = LinkIndex(parse_page(s) for s in SOURCES)

    def test_resolve_titles_with_punctuation_and_accents(self):
        for target, title in [("Q&A", "Q&A"), ("q & a", "Q&A"), ("Crème brûlée", "Crème brûlée"),
                              ("creme brulee", "Crème brûlée"), ("C++ tips", "C++ tips"),
                              ("release  checklist", "Release checklist"),
                              ("Questions & Answers", "Q&A"), ("FAQ", "Q&A")]:
            with self.subTest(target=target):
                self.assertEqual(self.index.resolve(target).title, title)

    def test_unknown_targets_stay_broken(self):
        for target in ("Missing page", "Questions and answers", "q and a", "Hom"):
            with self.subTest(target=target):
                self.assertIsNone(self.index.resolve(target))

    def test_rendered_links(self):
        home = build_site(SOURCES)["home.html"]
        self.assertIn('<a href="/q-a.html">Q&amp;A</a>', home)
        self.assertIn('<a href="/creme-brulee.html">dessert</a>', home)
        self.assertIn('<a href="/c-tips.html#move-semantics">C++ tips#Move semantics</a>', home)
        self.assertIn('<a href="/release-checklist.html">release  checklist</a>', home)
        self.assertIn('<a class="broken" href="/new?title=Missing%20page">Missing page</a>', home)
        self.assertEqual(home.count('class="broken"'), 1)

    def test_check_report(self):
        self.assertEqual(check(SOURCES), [
            "Home: [[Missing page]] points to no page",
            "C++ tips: [[Questions and answers]] points to no page",
        ])
        self.assertEqual(self.index.broken_links()[0], BrokenLink("Home", "Missing page"))

    def test_backlinks(self):
        qa = self.index.resolve("FAQ")
        self.assertEqual(self.index.backlinks(qa), ["Crème brûlée", "Home"])
        files = build_site(SOURCES)
        self.assertIn('Linked from: <a href="/home.html">Home</a>, <a href="/q-a.html">Q&amp;A</a>',
                      files["c-tips.html"])

    def test_orphans(self):
        self.assertEqual(self.index.orphans(), [])


if __name__ == "__main__":
    unittest.main()
