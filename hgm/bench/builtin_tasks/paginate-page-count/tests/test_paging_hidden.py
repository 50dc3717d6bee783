import unittest

from paging import paginate


class PageCountTest(unittest.TestCase):
    def test_exact_multiple_has_no_extra_page(self):
        self.assertEqual(paginate(list(range(20)), 1, per_page=10).pages, 2)

    def test_last_full_page_has_no_next(self):
        page = paginate(list(range(20)), 2, per_page=10)
        self.assertEqual(page.items, list(range(10, 20)))
        self.assertFalse(page.has_next)
        self.assertTrue(page.has_previous)

    def test_page_after_last_is_out_of_range(self):
        with self.assertRaises(ValueError):
            paginate(list(range(20)), 3, per_page=10)

    def test_partial_last_page_still_counted(self):
        self.assertEqual(paginate(list(range(21)), 1, per_page=10).pages, 3)
        self.assertEqual(paginate(list(range(21)), 3, per_page=10).items, [20])

    def test_empty_list_has_one_empty_page(self):
        page = paginate([], 1, per_page=10)
        self.assertEqual((page.items, page.pages, page.has_next), ([], 1, False))
        with self.assertRaises(ValueError):
            paginate([], 2, per_page=10)

    def test_page_size_one(self):
        self.assertEqual(paginate("abc", 3, per_page=1).items, ["c"])
        self.assertEqual(paginate("abc", 1, per_page=1).pages, 3)

    def test_page_size_larger_than_list(self):
        page = paginate([1, 2, 3], 1, per_page=50)
        self.assertEqual((page.items, page.pages), ([1, 2, 3], 1))

    def test_page_zero_is_rejected(self):
        with self.assertRaises(ValueError):
            paginate([1, 2, 3], 0, per_page=2)


if __name__ == "__main__":
    unittest.main()
