def render(grid, alive="#", dead="."):
    return "\n".join(
        "".join(alive if grid.get(x, y) else dead for x in range(grid.width))
        for y in range(grid.height)
    )
