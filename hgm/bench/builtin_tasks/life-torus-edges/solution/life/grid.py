class Grid:
    """A width x height board of live/dead cells.

    With ``wrap=True`` the board is a torus: the left edge touches the right edge and
    the top edge touches the bottom edge. Otherwise cells outside the board are dead.
    """

    def __init__(self, width, height, wrap=False, live=()):
        if width < 1 or height < 1:
            raise ValueError("a board needs at least one cell")
        self.width, self.height, self.wrap = width, height, wrap
        self.cells = set()
        for x, y in live:
            self.set(x, y, True)

    def inside(self, x, y):
        return 0 <= x < self.width and 0 <= y < self.height

    def get(self, x, y):
        return (x, y) in self.cells

    def set(self, x, y, alive):
        if not self.inside(x, y):
            raise IndexError(f"({x}, {y}) is outside the board")
        if alive:
            self.cells.add((x, y))
        else:
            self.cells.discard((x, y))

    def neighbours(self, x, y):
        """How many of the eight surrounding cells are alive."""
        count = 0
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                if dx == 0 and dy == 0:
                    continue
                nx, ny = x + dx, y + dy
                if self.wrap:
                    nx, ny = nx % self.width, ny % self.height
                elif not self.inside(nx, ny):
                    continue
                count += self.get(nx, ny)
        return count

    def copy(self):
        return Grid(self.width, self.height, self.wrap, self.cells)

    def __eq__(self, other):
        return (self.width, self.height, self.wrap, self.cells) == (
            other.width, other.height, other.wrap, other.cells)
