import unittest

from paging import paginate


class PagingTest(unittest.TestCase):
    def test_first_page(self):
        page = paginate(list(range(25)), 1, per_page=10)
        self.assertEqual(page.items, list(range(10)))
        self.assertTrue(page.has_next)
        self.assertFalse(page.has_previous)

    def test_partial_last_page(self):
        page = paginate(list(range(25)), 3, per_page=10)
        self.assertEqual(page.items, [20, 21, 22, 23, 24])
        self.assertEqual(page.pages, 3)
        self.assertFalse(page.has_next)


if __name__ == "__main__":
    unittest.main()
