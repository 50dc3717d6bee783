from sitegen.links import LinkIndex
from sitegen.markup import render
from sitegen.pages import parse_page
from sitegen.text import escape

TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{content}
<aside>Linked from: {backlinks}</aside>
</body></html>
"""


def build_site(sources):
    """{file name: HTML} for every page source (a list of strings)."""
    pages = [parse_page(source) for source in sources]
    index = LinkIndex(pages)
    files = {}
    for page in pages:
        backlinks = ", ".join(index.render_link(title) for title in index.backlinks(page))
        files[f"{page.slug}.html"] = TEMPLATE.format(
            title=escape(page.title),
            content=render(page.body, index.render_link),
            backlinks=backlinks or "nothing yet",
        )
    return files


def check(sources):
    """Lines describing every broken link, for the `sitegen check` command."""
    index = LinkIndex(parse_page(source) for source in sources)
    return [f"{b.source}: [[{b.target}]] points to no page" for b in index.broken_links()]
