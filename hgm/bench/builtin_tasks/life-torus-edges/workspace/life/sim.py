from life.grid import Grid
from life.rules import CONWAY


def step(grid, rule=CONWAY):
    """The next generation."""
    candidates = set(grid.cells)
    for x, y in grid.cells:
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                nx, ny = x + dx, y + dy
                if grid.wrap:
                    candidates.add((nx % grid.width, ny % grid.height))
                elif grid.inside(nx, ny):
                    candidates.add((nx, ny))
    alive = [(x, y) for x, y in candidates
             if rule.next_state(grid.get(x, y), grid.neighbours(x, y))]
    return Grid(grid.width, grid.height, grid.wrap, alive)


def run(grid, generations, rule=CONWAY):
    for _ in range(generations):
        grid = step(grid, rule)
    return grid


def period(grid, limit=1000, rule=CONWAY):
    """Generations until the board repeats a state, or None within ``limit``."""
    seen = {frozenset(grid.cells): 0}
    for generation in range(1, limit + 1):
        grid = step(grid, rule)
        key = frozenset(grid.cells)
        if key in seen:
            return generation - seen[key]
        seen[key] = generation
    return None
