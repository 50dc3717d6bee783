"""Our small wiki markup, rendered to HTML.

Blocks are separated by blank lines: ``# Heading`` (1 to 3 ``#``), lists (lines
starting with ``- ``) and paragraphs. Inline: ``*emphasis*``, ``**strong**``,
```code``` and wiki links ``[[Page title]]``, ``[[Page title|label]]`` and
``[[Page title#Section]]``.
"""

import re

from sitegen.text import escape, slugify

_WIKI = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"\*(.+?)\*")


def render_inline(text, link_renderer):
    """HTML for one line of text. ``link_renderer(target, label)`` renders wiki links."""
    out = []
    pos = 0
    for match in _WIKI.finditer(text):
        out.append(_format(text[pos:match.start()]))
        target, label = match.group(1).strip(), (match.group(2) or "").strip()
        out.append(link_renderer(target, label or None))
        pos = match.end()
    out.append(_format(text[pos:]))
    return "".join(out)


def _format(text):
    text = escape(text)
    text = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", text)
    text = _STRONG.sub(lambda m: f"<strong>{m.group(1)}</strong>", text)
    return _EM.sub(lambda m: f"<em>{m.group(1)}</em>", text)


def render(body, link_renderer):
    """HTML for a page body."""
    html = []
    for block in re.split(r"\n\s*\n", body.strip()):
        lines = block.splitlines()
        heading = re.match(r"^(#{1,3})\s+(.*)$", lines[0])
        if heading and len(lines) == 1:
            level = len(heading.group(1))
            text = heading.group(2).strip()
            html.append(f'<h{level} id="{slugify(text)}">{render_inline(text, link_renderer)}'
                        f"</h{level}>")
        elif all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{render_inline(line[2:], link_renderer)}</li>" for line in lines)
            html.append(f"<ul>{items}</ul>")
        else:
            text = " ".join(line.strip() for line in lines)
            html.append(f"<p>{render_inline(text, link_renderer)}</p>")
    return "\n".join(html)


def wiki_targets(body):
    """The targets of every wiki link in ``body``, in order."""
    return [m.group(1).strip() for m in _WIKI.finditer(body)]
