"""Geometry for the floor-plan tool. Shapes arrive as dicts from the JSON plan files,
e.g. ``{"kind": "rect", "width": 4, "height": 3}``.

Each kind is a class registered with :func:`register_shape`; the functions below
build the right object from a dict and ask it, so a new kind needs no change here.
"""

import math


class ShapeError(ValueError):
    pass


_KINDS = {}


def register_shape(kind, cls):
    """Make ``cls`` handle dicts whose ``kind`` is ``kind``.

    ``cls.from_dict(data)`` builds a shape (raising ShapeError for bad data); shapes
    have ``area()``, ``perimeter()`` and ``describe()``.
    """
    if kind in _KINDS:
        raise ValueError(f"shape kind {kind!r} is already registered")
    _KINDS[kind] = cls
    return cls


def shape_from_dict(data):
    """The shape object for a dict from a plan file."""
    kind = data.get("kind")
    cls = _KINDS.get(kind)
    if cls is None:
        raise ShapeError(f"unknown shape kind {kind!r}")
    return cls.from_dict(data)


def _need(shape, *fields):
    missing = [f for f in fields if f not in shape]
    if missing:
        raise ShapeError(f"{shape.get('kind')}: missing {', '.join(missing)}")
    values = [shape[f] for f in fields]
    if any(not isinstance(v, (int, float)) or v <= 0 for v in values):
        raise ShapeError(f"{shape.get('kind')}: sizes must be positive numbers")
    return values


class Rect:
    def __init__(self, width, height):
        self.width, self.height = width, height

    @classmethod
    def from_dict(cls, data):
        return cls(*_need(data, "width", "height"))

    def area(self):
        return self.width * self.height

    def perimeter(self):
        return 2 * (self.width + self.height)

    def describe(self):
        name = "square" if self.width == self.height else "rectangle"
        return f"{name} {self.width:g} x {self.height:g}, area {self.area():.2f}"


class Circle:
    def __init__(self, radius):
        self.radius = radius

    @classmethod
    def from_dict(cls, data):
        return cls(*_need(data, "radius"))

    def area(self):
        return math.pi * self.radius ** 2

    def perimeter(self):
        return 2 * math.pi * self.radius

    def describe(self):
        return f"circle r={self.radius:g}, area {self.area():.2f}"


class Triangle:
    def __init__(self, a, b, c):
        if a + b <= c or a + c <= b or b + c <= a:
            raise ShapeError("triangle: sides do not form a triangle")
        self.a, self.b, self.c = a, b, c

    @classmethod
    def from_dict(cls, data):
        return cls(*_need(data, "a", "b", "c"))

    def area(self):
        s = (self.a + self.b + self.c) / 2
        return math.sqrt(s * (s - self.a) * (s - self.b) * (s - self.c))

    def perimeter(self):
        return self.a + self.b + self.c

    def describe(self):
        return f"triangle {self.a:g}/{self.b:g}/{self.c:g}, area {self.area():.2f}"


register_shape("rect", Rect)
register_shape("circle", Circle)
register_shape("triangle", Triangle)


def area(shape):
    return shape_from_dict(shape).area()


def perimeter(shape):
    return shape_from_dict(shape).perimeter()


def describe(shape):
    return shape_from_dict(shape).describe()


def total_area(shapes):
    return sum(area(s) for s in shapes)


def summary(shapes):
    """One line per shape, then the total area."""
    lines = [describe(s) for s in shapes]
    lines.append(f"total area {total_area(shapes):.2f}")
    return "\n".join(lines)
