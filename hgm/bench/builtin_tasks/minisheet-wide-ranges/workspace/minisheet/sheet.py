from minisheet.cells import parse_ref
from minisheet.formula import evaluate, parse, references


class Sheet:
    """Cells hold numbers, text or formulas ('=...'); values are computed on demand."""

    def __init__(self):
        self._raw = {}
        self._trees = {}

    def set(self, ref, content):
        ref = ref.upper()
        parse_ref(ref)
        if isinstance(content, str) and content.startswith("="):
            self._trees[ref] = parse(content)
        else:
            self._trees.pop(ref, None)
        self._raw[ref] = content

    def raw(self, ref):
        return self._raw.get(ref.upper())

    def value(self, ref):
        return self._value(ref.upper(), ())

    def _value(self, ref, visiting):
        if ref in visiting:
            return "#CYCLE!"
        tree = self._trees.get(ref)
        if tree is None:
            return self._raw.get(ref)
        return evaluate(tree, lambda other: self._value(other, (*visiting, ref)))

    def dependents(self, ref):
        """Cells whose formulas read ``ref`` directly."""
        ref = ref.upper()
        return sorted(cell for cell, tree in self._trees.items() if ref in references(tree))
