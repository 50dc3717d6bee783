import html
import re
import unicodedata


def slugify(title):
    """URL-safe form of a title: 'Crème brûlée & Co.' -> 'creme-brulee-co'."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "page"


def escape(text):
    return html.escape(text, quote=True)
