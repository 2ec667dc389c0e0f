"""Bounded work per page: a flood of links is a hostile page or a sitemap in HTML, not an
article, and each link costs trafilatura ~0.35 ms (a page with 100,000 took 73 s to extract
and stalled a crawl for minutes)."""

from __future__ import annotations

from itertools import islice

from lxml.html import HtmlElement

#: Links (<a>, <area>, <link>) read per page, in document order, by extraction and by the
#: crawl's link finding: the largest news home pages have under a thousand, and a page at
#: the cap costs ~0.7 s on the development machine.
MAX_LINKS_PER_PAGE = 2000


def prune_links(tree: HtmlElement) -> int:
    """Drop the links past :data:`MAX_LINKS_PER_PAGE`, with their text and tails, and the
    elements they leave empty (the ``<li>`` of a list: jusText, trafilatura's fallback,
    takes time quadratic in the paragraphs it finds). Returns how many links were dropped."""
    doomed = list(islice(tree.iter("a", "area", "link"), MAX_LINKS_PER_PAGE, None))
    dropped = len(doomed)
    while doomed:
        parents = _remove(doomed)
        doomed = [p for p in parents if p is not tree and not len(p) and not (p.text or "").strip()]
    return dropped


def _remove(elements: list[HtmlElement]) -> list[HtmlElement]:
    """Remove elements with their tails, a parent's children at once (one by one is
    quadratic in a list of 100,000); returns their parents."""
    by_parent: dict[HtmlElement, set[HtmlElement]] = {}
    for element in elements:
        parent = element.getparent()
        if parent is not None:
            by_parent.setdefault(parent, set()).add(element)
    for parent, gone in by_parent.items():
        parent[:] = [child for child in parent if child not in gone]
    return list(by_parent)
