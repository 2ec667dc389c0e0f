"""Chrome a single page gives away by its structure: blocks of links, "READ MORE:" lines.

A site model (:mod:`archive.extract.chrome`) needs an outlet's other pages; a page saved
alone, or the first pages of a new outlet, have none. Their menus, "most read" and "related"
lists, tag clouds and teaser boxes still look like what they are: blocks made of links, with
next to no text of their own; and a teaser set in the article ("READ MORE:", "Up next:",
"Related:" before one linked headline) is a line of its own that is a short label and a
link. :func:`strip` removes both before trafilatura reads the page (which also makes
trafilatura's work lighter: 37 -> 29 ms a page on the development split); trafilatura then
weighs what is left by its own cues, and a site model, where there is one, clears what
repeats on the outlet's pages besides.

One pass over the tree counts, for every element, its characters, those inside links, its
links and its paragraphs of prose; the removal rules read those counts. On the development
split the teaser rule leaves body F1 as it is (0.960) and costs 0.002 of trafilatura's
"with" passages (a commenter's "X on <date> said:" line reads as one); the news web's
Sputnik-like outlet loses its "READ MORE:" lines with it. The thresholds were chosen on the
development split of the real-page fixtures and on nothing else (bench/extraction.py --split
dev).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml.html import HtmlElement

#: Elements that hold blocks: lists of links are looked for among these.
CONTAINERS = frozenset({"div", "section", "aside", "nav", "ul", "ol", "header", "footer", "table"})
#: A teaser line: a block of its own, one link of a headline's length after a label of at
#: most this many words.
TEASER_BLOCKS = frozenset({"p", "li", "div"})
LABEL_WORDS = 4
HEADLINE_WORDS = 4
#: Elements whose text is not read.
UNSEEN = frozenset({"script", "style", "noscript", "template", "svg"})
#: A list of links: at least this many links...
MIN_LINKS = 4
#: ...making up at least this share of its text...
LINK_SHARE = 0.8
#: ...with at most this many characters of text outside them...
OTHER_CHARS = 200
#: ...and no paragraph of prose: this many characters outside links in one block (characters,
#: not words: Chinese and Japanese put no spaces between words).
PROSE_CHARS = 150


@dataclass
class _Counts:
    chars: int = 0
    link_chars: int = 0
    links: int = 0
    prose: bool = False  # holds a block of prose outside links


def _count(element: HtmlElement, counts: dict[HtmlElement, _Counts], in_link: bool) -> _Counts:
    """Post-order: the counts of ``element`` and of every element inside it."""
    own = _Counts()
    link = in_link or element.tag == "a"
    own.chars = len((element.text or "").strip())
    prose = own.chars if not link else 0
    if link:
        own.link_chars = own.chars
        own.links = element.tag == "a"
    for child in element:
        if isinstance(child.tag, str) and child.tag not in UNSEEN:
            inner = _count(child, counts, link)
            own.chars += inner.chars
            own.link_chars += inner.link_chars
            own.links += inner.links
            own.prose = own.prose or inner.prose
        tail = (child.tail or "").strip()
        own.chars += len(tail)
        if link:
            own.link_chars += len(tail)
        else:
            prose += len(tail)
    own.prose = own.prose or prose >= PROSE_CHARS
    counts[element] = own
    return own


def _is_link_list(element: HtmlElement, counts: _Counts) -> bool:
    return (
        element.tag in CONTAINERS
        and counts.links >= MIN_LINKS
        and not counts.prose
        and counts.link_chars >= LINK_SHARE * counts.chars
        and counts.chars - counts.link_chars < OTHER_CHARS
    )


def _is_teaser_line(element: HtmlElement, counts: _Counts) -> bool:
    """ "READ MORE: <a>Headline of another article</a>": a paragraph of its own that is one
    link of a headline's length after a short label ending in a colon."""
    if element.tag not in TEASER_BLOCKS or counts.links != 1:
        return False
    link = next(element.iter("a"))
    headline = " ".join(link.text_content().split())
    label = " ".join(element.text_content().split()).replace(headline, "", 1).strip()
    return (
        label.endswith(":")
        and len(label.split()) <= LABEL_WORDS
        and len(headline.split()) >= HEADLINE_WORDS
    )


def strip(tree: HtmlElement) -> None:
    """Remove the page's lists of links and teaser lines (their tails stay)."""
    body = tree.find("body")
    if body is None:
        return
    counts: dict[HtmlElement, _Counts] = {}
    try:
        _count(body, counts, False)
    except RecursionError:  # a tree nested deeper than Python's stack: trafilatura's alone
        return
    doomed = []
    stack = list(body)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str) or element.tag in UNSEEN:
            continue
        found = counts.get(element)
        if found is not None and (_is_link_list(element, found) or _is_teaser_line(element, found)):
            doomed.append(element)
            continue  # what is inside goes with it
        stack.extend(element)
    for element in doomed:
        element.drop_tree()
