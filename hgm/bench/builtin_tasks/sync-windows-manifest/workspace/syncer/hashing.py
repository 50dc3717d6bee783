import hashlib


def file_digest(path, chunk_size=65536):
    """The SHA-256 of a file's contents as lower-case hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
