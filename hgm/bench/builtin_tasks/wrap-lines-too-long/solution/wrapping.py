"""Greedy word wrapping for plain-text e-mails and terminal output."""


def wrap(text, width):
    """Split ``text`` into lines of at most ``width`` characters.

    Words are separated by any whitespace and joined by single spaces. A word longer
    than ``width`` is cut into pieces of ``width`` characters (the last piece may be
    shorter), each starting a new line.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    lines = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def fill(text, width, indent=""):
    """Wrap every paragraph of ``text`` (paragraphs are separated by blank lines).

    ``indent`` is put in front of every line and counts towards ``width``.
    """
    if len(indent) >= width:
        raise ValueError("indent leaves no room for text")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    blocks = []
    for paragraph in paragraphs:
        lines = wrap(paragraph, width - len(indent))
        blocks.append("\n".join(indent + line for line in lines))
    return "\n\n".join(blocks)
