import re

from life.grid import Grid


def parse_rle(text):
    """Cells of a pattern in run-length encoding ('bo$2bo$3o!' is a glider)."""
    cells, x, y = [], 0, 0
    body = "".join(line for line in text.splitlines() if not line.startswith(("#", "x")))
    for count, tag in re.findall(r"(\d*)([bo$!])", body):
        n = int(count or 1)
        if tag == "b":
            x += n
        elif tag == "o":
            cells += [(x + i, y) for i in range(n)]
            x += n
        elif tag == "$":
            y, x = y + n, 0
        else:
            break
    return cells


def place(cells, width, height, at=(0, 0), wrap=False):
    ox, oy = at
    return Grid(width, height, wrap, [(x + ox, y + oy) for x, y in cells])


GLIDER = parse_rle("bo$2bo$3o!")
BLINKER = parse_rle("3o!")
