import unittest

from life.patterns import BLINKER, GLIDER, place
from life.render import render
from life.rules import parse_rule
from life.sim import period, run


class LifeTest(unittest.TestCase):
    def test_blinker(self):
        grid = place(BLINKER, 5, 5, at=(1, 2))
        self.assertEqual(render(run(grid, 1)), ".....\n..#..\n..#..\n..#..\n.....")
        self.assertEqual(period(grid), 2)

    def test_glider_on_square_torus(self):
        grid = place(GLIDER, 8, 8, wrap=True)
        self.assertEqual(run(grid, 32), grid)

    def test_rule(self):
        self.assertEqual(parse_rule("b36/s23").born, {3, 6})


if __name__ == "__main__":
    unittest.main()
