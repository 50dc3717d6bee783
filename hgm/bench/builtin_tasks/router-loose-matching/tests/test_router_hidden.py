import unittest

from router import Router


def make_router():
    r = Router()
    r.add("/users/<int:user_id>", "show_user")
    r.add("/users/<int:user_id>/delete", "delete_user")
    r.add("/report.csv", "report_csv")
    r.add("/posts/<slug:slug>", "show_post")
    r.add("/files/<path:name>", "file")
    r.add("/search+advanced", "advanced_search")
    r.add("/", "home")
    return r


class WholePathTest(unittest.TestCase):
    def setUp(self):
        self.r = make_router()

    def test_longer_path_goes_to_its_own_route(self):
        m = self.r.match("/users/12/delete")
        self.assertEqual((m.handler, m.params), ("delete_user", {"user_id": 12}))

    def test_prefix_match_is_not_a_match(self):
        self.assertIsNone(self.r.match("/users/12/edit"))
        self.assertIsNone(self.r.match("/report.csv.bak"))

    def test_root_matches_only_root(self):
        self.assertEqual(self.r.match("/").handler, "home")
        self.assertIsNone(self.r.match("/nowhere"))

    def test_int_rejects_mixed_segment(self):
        self.assertIsNone(self.r.match("/users/12abc"))


class LiteralTest(unittest.TestCase):
    def setUp(self):
        self.r = make_router()

    def test_dot_is_literal(self):
        self.assertEqual(self.r.match("/report.csv").handler, "report_csv")
        self.assertIsNone(self.r.match("/reportXcsv"))

    def test_regex_metacharacters_are_literal(self):
        self.assertEqual(self.r.match("/search+advanced").handler, "advanced_search")
        self.assertIsNone(self.r.match("/searchhhadvanced"))


class ConverterTest(unittest.TestCase):
    def setUp(self):
        self.r = make_router()

    def test_slug(self):
        self.assertEqual(self.r.match("/posts/hello-world-2").params, {"slug": "hello-world-2"})
        self.assertIsNone(self.r.match("/posts/Hello_World"))
        self.assertIsNone(self.r.match("/posts/a/b"))

    def test_path_spans_segments(self):
        self.assertEqual(self.r.match("/files/a/b/c.txt").params, {"name": "a/b/c.txt"})
        self.assertIsNone(self.r.match("/files/"))

    def test_str_is_one_segment(self):
        r = Router()
        r.add("/tags/<tag>", "tag")
        self.assertEqual(r.match("/tags/py").params, {"tag": "py"})
        self.assertIsNone(r.match("/tags/py/extra"))


if __name__ == "__main__":
    unittest.main()
