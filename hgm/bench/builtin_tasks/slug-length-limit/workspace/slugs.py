"""URL slugs for blog posts: "Crème Brûlée: A How-To!" -> "creme-brulee-a-how-to"."""

import re
import unicodedata


def slugify(text, separator="-"):
    """Lower-case ASCII words of ``text`` joined by ``separator``.

    Accents are removed (é -> e); every run of other characters becomes one
    separator; there is no separator at either end.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    return separator.join(words)


def unique_slug(text, existing, separator="-"):
    """A slug for ``text`` that is not in ``existing``: the plain slug if free, else
    the slug with ``-2``, ``-3``, ... appended."""
    base = slugify(text, separator) or "post"
    if base not in existing:
        return base
    number = 2
    while f"{base}{separator}{number}" in existing:
        number += 1
    return f"{base}{separator}{number}"
