import math
import unittest

import shapes
from shapes import (ShapeError, area, describe, perimeter, register_shape, shape_from_dict,
                    summary, total_area)


class Hexagon:
    def __init__(self, side):
        self.side = side

    @classmethod
    def from_dict(cls, data):
        if data.get("side", 0) <= 0:
            raise ShapeError("hexagon: bad side")
        return cls(data["side"])

    def area(self):
        return 3 * math.sqrt(3) / 2 * self.side ** 2

    def perimeter(self):
        return 6 * self.side

    def describe(self):
        return f"hexagon s={self.side:g}"


register_shape("hexagon", Hexagon)
HEX = {"kind": "hexagon", "side": 2}


class RegistryTest(unittest.TestCase):
    def test_new_kind_through_module_functions(self):
        self.assertAlmostEqual(area(HEX), 6 * math.sqrt(3))
        self.assertEqual(perimeter(HEX), 12)
        self.assertEqual(describe(HEX), "hexagon s=2")

    def test_new_kind_in_totals_and_summary(self):
        plan = [HEX, {"kind": "rect", "width": 1, "height": 2}]
        self.assertAlmostEqual(total_area(plan), 6 * math.sqrt(3) + 2)
        self.assertEqual(summary(plan).splitlines()[0], "hexagon s=2")

    def test_new_kind_validation_is_used(self):
        with self.assertRaises(ShapeError):
            area({"kind": "hexagon", "side": -1})

    def test_duplicate_registration_rejected(self):
        with self.assertRaises(ValueError):
            register_shape("hexagon", Hexagon)
        with self.assertRaises(ValueError):
            register_shape("rect", Hexagon)

    def test_shape_from_dict_builds_objects(self):
        rect = shape_from_dict({"kind": "rect", "width": 4, "height": 3})
        self.assertEqual((rect.area(), rect.perimeter()), (12, 14))
        self.assertEqual(rect.describe(), "rectangle 4 x 3, area 12.00")
        circle = shape_from_dict({"kind": "circle", "radius": 1})
        self.assertAlmostEqual(circle.perimeter(), 2 * math.pi)
        self.assertIsInstance(shape_from_dict(HEX), Hexagon)
        with self.assertRaises(ShapeError):
            shape_from_dict({"kind": "blob"})

    def test_existing_kinds_unchanged(self):
        tri = {"kind": "triangle", "a": 3, "b": 4, "c": 5}
        self.assertAlmostEqual(area(tri), 6.0)
        self.assertEqual(perimeter(tri), 12)
        self.assertEqual(describe(tri), "triangle 3/4/5, area 6.00")
        self.assertEqual(describe({"kind": "circle", "radius": 1.5}), "circle r=1.5, area 7.07")
        self.assertEqual(describe({"kind": "rect", "width": 2, "height": 2}), "square 2 x 2, area 4.00")
        for bad in ({"kind": "triangle", "a": 1, "b": 1, "c": 3},
                    {"kind": "circle", "radius": 0}, {"kind": "rect", "width": 2},
                    {"width": 2, "height": 2}):
            with self.subTest(bad=bad):
                with self.assertRaises(ShapeError):
                    area(bad)
                with self.assertRaises(ShapeError):
                    describe(bad)

    def test_existing_kinds_are_registered_classes(self):
        rect = shape_from_dict({"kind": "rect", "width": 1, "height": 1})
        self.assertTrue(hasattr(type(rect), "from_dict"))
        self.assertIsNot(type(rect), dict)
        self.assertTrue(callable(shapes.register_shape))


if __name__ == "__main__":
    unittest.main()
