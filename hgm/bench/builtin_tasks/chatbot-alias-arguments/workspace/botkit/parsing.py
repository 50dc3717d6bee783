import shlex


def split_message(text, prefix="!"):
    """'!weather "New York" now' -> ('weather', ['New York', 'now']); None when the
    text is not a command."""
    if not text.startswith(prefix) or len(text) == len(prefix):
        return None
    try:
        words = shlex.split(text[len(prefix):])
    except ValueError:
        words = text[len(prefix):].split()
    if not words:
        return None
    return words[0].lower(), words[1:]
