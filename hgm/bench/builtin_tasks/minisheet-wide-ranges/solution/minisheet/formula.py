"""Formulas: ``=SUM(A1:B3)*2 + IF(C1>0, C1, -C1)``.

Grammar (usual precedence, left-associative)::

    formula    := "=" comparison
    comparison := sum (("<" | ">" | "<=" | ">=" | "=" | "<>") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | REF | RANGE | NAME "(" args ")" | "(" comparison ")"

A range ``A1:C3`` is every cell of the rectangle between its two corners, in row
order; it may only appear as a function argument. Empty cells count as 0 in
arithmetic and are skipped by COUNT and AVG. Errors are values: ``#DIV/0!``,
``#VALUE!``, ``#NAME?``, ``#REF!``; any error in an operand makes the result that
error.
"""

from __future__ import annotations

import re

from minisheet.cells import column_name, parse_ref

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>"[^"]*")
    | (?P<range>\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+)
    | (?P<ref>\$?[A-Z]{1,3}\$?\d+)
    | (?P<name>[A-Z][A-Z0-9.]*)
    | (?P<op><=|>=|<>|[-+*/(),<>=])
    )""", re.VERBOSE | re.IGNORECASE)

ERRORS = ("#DIV/0!", "#VALUE!", "#NAME?", "#REF!", "#CYCLE!")


class FormulaError(Exception):
    """The formula text cannot be parsed."""


def is_error(value):
    return isinstance(value, str) and value in ERRORS


def tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FormulaError(f"unexpected character at {text[pos:]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        tokens.append((kind, value if kind == "string" else value.upper()))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, value=None):
        kind, text = self.peek()
        if kind is None or (value is not None and text != value):
            raise FormulaError(f"expected {value or 'more input'}, got {text!r}")
        self.pos += 1
        return kind, text

    def comparison(self):
        left = self.sum()
        if self.peek()[1] in ("<", ">", "<=", ">=", "=", "<>"):
            op = self.take()[1]
            return ("cmp", op, left, self.sum())
        return left

    def sum(self):
        node = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = ("bin", op, node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = ("bin", op, node, self.unary())
        return node

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self):
        kind, text = self.take()
        if kind == "number":
            return ("num", float(text))
        if kind == "string":
            return ("str", text[1:-1])
        if kind == "ref":
            return ("ref", text.replace("$", ""))
        if kind == "range":
            raise FormulaError(f"range {text} outside of a function call")
        if kind == "name":
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.argument())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.argument())
            self.take(")")
            return ("call", text, args)
        if text == "(":
            node = self.comparison()
            self.take(")")
            return node
        raise FormulaError(f"unexpected {text!r}")

    def argument(self):
        kind, text = self.peek()
        if kind == "range":
            self.take()
            return ("range", text.replace("$", ""))
        return self.comparison()


def parse(text):
    """The syntax tree of a formula (text starting with '=')."""
    if not text.startswith("="):
        raise FormulaError("a formula starts with '='")
    parser = _Parser(tokenize(text[1:]))
    tree = parser.comparison()
    if parser.pos != len(parser.tokens):
        raise FormulaError(f"unexpected {parser.peek()[1]!r}")
    return tree


def references(tree):
    """Every cell a formula reads, ranges expanded, in order of appearance."""
    kind = tree[0]
    if kind == "ref":
        return [tree[1]]
    if kind == "range":
        return expand_range(tree[1])
    if kind in ("bin", "cmp"):
        return references(tree[2]) + references(tree[3])
    if kind == "neg":
        return references(tree[1])
    if kind == "call":
        return [ref for arg in tree[2] for ref in references(arg)]
    return []


def normalize_range(text):
    """The canonical spelling of a range: top-left corner first, no '$'.
    '$C$3:a1' -> 'A1:C3'."""
    first, last = text.upper().split(":")
    col1, row1 = parse_ref(first)
    col2, row2 = parse_ref(last)
    top_left = f"{column_name(min(col1, col2))}{min(row1, row2) + 1}"
    bottom_right = f"{column_name(max(col1, col2))}{max(row1, row2) + 1}"
    return f"{top_left}:{bottom_right}"


def expand_range(text):
    """'A1:B2' -> ['A1', 'B1', 'A2', 'B2'] (row by row); corners in any order."""
    first, last = text.split(":")
    col1, row1 = parse_ref(first)
    col2, row2 = parse_ref(last)
    cells = []
    for row in range(min(row1, row2), max(row1, row2) + 1):
        for col in range(min(col1, col2), max(col1, col2) + 1):
            cells.append(f"{column_name(col)}{row + 1}")
    return cells


def _number(value):
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return "#VALUE!"


def _call(name, values):
    errors = [v for v in values if is_error(v)]
    if errors:
        return errors[0]
    present = [v for v in values if v is not None and v != ""]
    numbers = [_number(v) for v in present if not isinstance(v, str)]
    if name == "SUM":
        return sum(numbers)
    if name in ("AVG", "AVERAGE"):
        return sum(numbers) / len(numbers) if numbers else "#DIV/0!"
    if name == "MIN":
        return min(numbers, default=0.0)
    if name == "MAX":
        return max(numbers, default=0.0)
    if name == "COUNT":
        return float(len(numbers))
    if name == "IF":
        if len(values) not in (2, 3):
            return "#VALUE!"
        condition = values[0]
        chosen = values[1] if condition else (values[2] if len(values) == 3 else False)
        return chosen
    return "#NAME?"


def evaluate(tree, lookup):
    """The value of a syntax tree; ``lookup(ref)`` gives a cell's value."""
    kind = tree[0]
    if kind in ("num", "str"):
        return tree[1]
    if kind == "ref":
        return lookup(tree[1])
    if kind == "neg":
        value = _number(evaluate(tree[1], lookup))
        return value if is_error(value) else -value
    if kind in ("bin", "cmp"):
        left, right = evaluate(tree[2], lookup), evaluate(tree[3], lookup)
        for value in (left, right):
            if is_error(value):
                return value
        if kind == "cmp":
            ops = {"<": left < right, ">": left > right, "<=": left <= right,
                   ">=": left >= right, "=": left == right, "<>": left != right}
            return ops[tree[1]]
        a, b = _number(left), _number(right)
        if is_error(a) or is_error(b):
            return "#VALUE!"
        if tree[1] == "/":
            return "#DIV/0!" if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[tree[1]]
    if kind == "call":
        values = []
        for arg in tree[2]:
            if arg[0] == "range":
                values.extend(lookup(ref) for ref in expand_range(arg[1]))
            else:
                values.append(evaluate(arg, lookup))
        return _call(tree[1], values)
    raise FormulaError(f"cannot evaluate {tree!r}")
