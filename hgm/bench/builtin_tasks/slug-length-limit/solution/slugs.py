"""URL slugs for blog posts: "Crème Brûlée: A How-To!" -> "creme-brulee-a-how-to"."""

import re
import unicodedata


def _shorten(words, separator, max_length):
    """Join as many whole words as fit in ``max_length``; cut the first word if even
    it does not fit."""
    if max_length is None:
        return separator.join(words)
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    kept = []
    for word in words:
        candidate = separator.join([*kept, word])
        if len(candidate) > max_length:
            break
        kept.append(word)
    if not kept and words:
        return words[0][:max_length]
    return separator.join(kept)


def _words(text):
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.findall(r"[a-z0-9]+", ascii_text)


def slugify(text, separator="-", max_length=None):
    """Lower-case ASCII words of ``text`` joined by ``separator``.

    Accents are removed (é -> e); every run of other characters becomes one
    separator; there is no separator at either end. With ``max_length``, the slug
    keeps as many whole words as fit.
    """
    return _shorten(_words(text), separator, max_length)


def unique_slug(text, existing, separator="-", max_length=None):
    """A slug for ``text`` that is not in ``existing``: the plain slug if free, else
    the slug with ``-2``, ``-3``, ... appended. With ``max_length``, the whole slug,
    suffix included, fits in it."""
    words = _words(text) or ["post"]
    base = _shorten(words, separator, max_length)
    if base not in existing:
        return base
    number = 2
    while True:
        suffix = f"{separator}{number}"
        room = None if max_length is None else max_length - len(suffix)
        if room is not None and room < 1:
            raise ValueError("max_length leaves no room for a unique suffix")
        candidate = _shorten(words, separator, room) + suffix
        if candidate not in existing:
            return candidate
        number += 1
