"""Geometry for the floor-plan tool. Shapes arrive as dicts from the JSON plan files,
e.g. ``{"kind": "rect", "width": 4, "height": 3}``."""

import math


class ShapeError(ValueError):
    pass


def _need(shape, *fields):
    missing = [f for f in fields if f not in shape]
    if missing:
        raise ShapeError(f"{shape.get('kind')}: missing {', '.join(missing)}")
    values = [shape[f] for f in fields]
    if any(not isinstance(v, (int, float)) or v <= 0 for v in values):
        raise ShapeError(f"{shape.get('kind')}: sizes must be positive numbers")
    return values


def area(shape):
    kind = shape.get("kind")
    if kind == "rect":
        width, height = _need(shape, "width", "height")
        return width * height
    if kind == "circle":
        (radius,) = _need(shape, "radius")
        return math.pi * radius ** 2
    if kind == "triangle":
        a, b, c = _need(shape, "a", "b", "c")
        if a + b <= c or a + c <= b or b + c <= a:
            raise ShapeError("triangle: sides do not form a triangle")
        s = (a + b + c) / 2
        return math.sqrt(s * (s - a) * (s - b) * (s - c))
    raise ShapeError(f"unknown shape kind {kind!r}")


def perimeter(shape):
    kind = shape.get("kind")
    if kind == "rect":
        width, height = _need(shape, "width", "height")
        return 2 * (width + height)
    if kind == "circle":
        (radius,) = _need(shape, "radius")
        return 2 * math.pi * radius
    if kind == "triangle":
        a, b, c = _need(shape, "a", "b", "c")
        if a + b <= c or a + c <= b or b + c <= a:
            raise ShapeError("triangle: sides do not form a triangle")
        return a + b + c
    raise ShapeError(f"unknown shape kind {kind!r}")


def describe(shape):
    kind = shape.get("kind")
    if kind == "rect":
        width, height = _need(shape, "width", "height")
        name = "square" if width == height else "rectangle"
        return f"{name} {width:g} x {height:g}, area {area(shape):.2f}"
    if kind == "circle":
        (radius,) = _need(shape, "radius")
        return f"circle r={radius:g}, area {area(shape):.2f}"
    if kind == "triangle":
        a, b, c = _need(shape, "a", "b", "c")
        return f"triangle {a:g}/{b:g}/{c:g}, area {area(shape):.2f}"
    raise ShapeError(f"unknown shape kind {kind!r}")


def total_area(shapes):
    return sum(area(s) for s in shapes)


def summary(shapes):
    """One line per shape, then the total area."""
    lines = [describe(s) for s in shapes]
    lines.append(f"total area {total_area(shapes):.2f}")
    return "\n".join(lines)
