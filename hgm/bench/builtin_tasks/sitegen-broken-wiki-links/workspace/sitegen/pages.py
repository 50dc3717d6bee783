from dataclasses import dataclass, field

from sitegen.text import slugify


@dataclass(frozen=True)
class Page:
    title: str
    body: str
    aliases: tuple = ()
    tags: tuple = ()
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def slug(self):
        return slugify(self.title)

    @property
    def url(self):
        return f"/{self.slug}.html"


def parse_page(source):
    """A page from its source: 'key: value' header lines, a line '---', then the body.

    Known keys: title (required), aliases and tags (comma-separated).
    """
    header, sep, body = source.partition("\n---\n")
    if not sep:
        raise ValueError("page source needs a header ending with a '---' line")
    meta = {}
    for line in header.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            meta[key.strip().lower()] = value.strip()
    if not meta.get("title"):
        raise ValueError("page header has no title")
    split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
    return Page(meta["title"], body, split(meta.get("aliases", "")),
                split(meta.get("tags", "")), meta)
