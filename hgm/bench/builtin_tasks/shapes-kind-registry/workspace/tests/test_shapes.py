import math
import unittest

from shapes import ShapeError, area, describe, perimeter, summary


class ShapesTest(unittest.TestCase):
    def test_rect(self):
        rect = {"kind": "rect", "width": 4, "height": 3}
        self.assertEqual((area(rect), perimeter(rect)), (12, 14))
        self.assertEqual(describe(rect), "rectangle 4 x 3, area 12.00")

    def test_circle(self):
        self.assertAlmostEqual(area({"kind": "circle", "radius": 2}), 4 * math.pi)

    def test_triangle(self):
        self.assertAlmostEqual(area({"kind": "triangle", "a": 3, "b": 4, "c": 5}), 6.0)

    def test_errors(self):
        with self.assertRaises(ShapeError):
            area({"kind": "blob"})
        with self.assertRaises(ShapeError):
            perimeter({"kind": "rect", "width": 1})

    def test_summary(self):
        text = summary([{"kind": "rect", "width": 2, "height": 2}])
        self.assertEqual(text, "square 2 x 2, area 4.00\ntotal area 4.00")


if __name__ == "__main__":
    unittest.main()
