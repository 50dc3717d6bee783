import unittest

from life.grid import Grid
from life.patterns import BLINKER, GLIDER, place
from life.sim import period, run, step


class TorusTest(unittest.TestCase):
    def test_glider_returns_on_wide_board(self):
        grid = place(GLIDER, 12, 6, wrap=True, at=(3, 1))
        # A glider moves one cell diagonally every 4 generations: 12 cells across
        # and 6 down both divide 48 / 4 = 12 moves.
        self.assertEqual(run(grid, 48), grid)
        self.assertEqual(len(run(grid, 17).cells), 5)

    def test_glider_returns_on_tall_board(self):
        grid = place(GLIDER, 5, 10, wrap=True)
        self.assertEqual(run(grid, 40), grid)

    def test_blinker_across_bottom_edge(self):
        grid = Grid(10, 4, wrap=True, live=[(4, 3), (4, 0), (4, 1)])
        self.assertEqual(period(grid), 2)
        self.assertEqual(step(grid).cells, {(3, 0), (4, 0), (5, 0)})

    def test_neighbours_wrap_both_ways(self):
        grid = Grid(7, 3, wrap=True, live=[(0, 0), (6, 2), (6, 0), (0, 2)])
        self.assertEqual(grid.neighbours(0, 0), 3)
        self.assertEqual(grid.neighbours(3, 1), 0)
        tall = Grid(3, 7, wrap=True, live=[(0, 6), (2, 6), (1, 1)])
        self.assertEqual(tall.neighbours(1, 0), 3)

    def test_bounded_boards_unchanged(self):
        grid = place(BLINKER, 12, 6, at=(0, 5))
        self.assertEqual(step(grid).cells, {(1, 4), (1, 5)})
        glider = place(GLIDER, 6, 6)
        self.assertEqual(len(run(glider, 40).cells), 4)


if __name__ == "__main__":
    unittest.main()
