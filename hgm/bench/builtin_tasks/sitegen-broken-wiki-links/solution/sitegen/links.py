"""The link graph of the wiki: which page a ``[[...]]`` link points to, backlinks,
and the report of broken links.

A link names a page by its title or one of its aliases. Matching ignores case,
accents, punctuation and spacing: ``[[q and a]]`` does not match "Q&A", but
``[[q&a]]``, ``[[Q & A]]`` and ``[[Q-A]]`` all do, because a title and a target
match when their slugs are equal (``sitegen.text.slugify``); the slug is also the
page's file name, so a link and its page always agree. A link may add a section
(``[[Page#Section]]``), which becomes the URL fragment.

Links to pages that do not exist are rendered as
``<a class="broken" href="/new?title=...">label</a>`` so that readers can create
the page.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from sitegen.markup import wiki_targets
from sitegen.text import escape, slugify


class DuplicateTitle(ValueError):
    """Two pages (or a page and an alias) would have the same URL."""


@dataclass(frozen=True)
class BrokenLink:
    source: str  # title of the page containing the link
    target: str  # the link target as written


def split_target(target):
    """'Page#Section' -> ('Page', 'Section'); the section may be empty."""
    page, _, section = target.partition("#")
    return page.strip(), section.strip()


class LinkIndex:
    """Every page reachable by title or alias, and the links between pages."""

    def __init__(self, pages):
        self.pages = list(pages)
        self._by_key = {}
        for page in self.pages:
            for name in (page.title, *page.aliases):
                key = slugify(name)
                other = self._by_key.get(key)
                if other is not None and other is not page:
                    raise DuplicateTitle(
                        f"{name!r} of page {page.title!r} clashes with page {other.title!r}"
                    )
                self._by_key[key] = page

    def __len__(self):
        return len(self.pages)

    def titles(self):
        return sorted(page.title for page in self.pages)

    def tags(self):
        """{tag: [page titles]} for the tag pages of the site."""
        found = {}
        for page in self.pages:
            for tag in page.tags:
                found.setdefault(tag.lower(), []).append(page.title)
        return {tag: sorted(titles) for tag, titles in sorted(found.items())}

    def orphans(self):
        """Pages that no other page links to (the home page excepted)."""
        linked = {
            id(self.resolve(target))
            for page in self.pages
            for target in wiki_targets(page.body)
            if self.resolve(target) is not None
        }
        return sorted(p.title for p in self.pages if id(p) not in linked and p.title != "Home")

    def search(self, words):
        """Titles of pages whose title or body contains every word (any case)."""
        words = [w.lower() for w in words.split()]
        hits = []
        for page in self.pages:
            text = f"{page.title}\n{page.body}".lower()
            if all(w in text for w in words):
                hits.append(page.title)
        return sorted(hits)

    def recent_links(self, page, limit=5):
        """The first ``limit`` distinct pages ``page`` links to, for the sidebar."""
        seen = []
        for target in wiki_targets(page.body):
            found = self.resolve(target)
            if found is not None and found is not page and found not in seen:
                seen.append(found)
        return seen[:limit]

    def resolve(self, target):
        """The page a link target points to, or None."""
        name, _ = split_target(target)
        return self._by_key.get(slugify(name))

    def url_for(self, target):
        """The URL a link target points to, or None for a broken link."""
        page = self.resolve(target)
        if page is None:
            return None
        _, section = split_target(target)
        return page.url + (f"#{slugify(section)}" if section else "")

    def render_link(self, target, label=None):
        """HTML for a wiki link; broken links invite the reader to create the page."""
        text = escape(label or target)
        url = self.url_for(target)
        if url is None:
            title = urllib.parse.quote(split_target(target)[0])
            return f'<a class="broken" href="/new?title={title}">{text}</a>'
        return f'<a href="{escape(url)}">{text}</a>'

    def backlinks(self, page):
        """Titles of the pages that link to ``page``, sorted."""
        sources = set()
        for other in self.pages:
            if other is page:
                continue
            if any(self.resolve(t) is page for t in wiki_targets(other.body)):
                sources.add(other.title)
        return sorted(sources)

    def broken_links(self):
        """Every link whose target does not exist, in page order then link order."""
        broken = []
        for page in self.pages:
            for target in wiki_targets(page.body):
                if self.resolve(target) is None:
                    broken.append(BrokenLink(page.title, target))
        return broken
