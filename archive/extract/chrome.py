"""An outlet's chrome, learned from its own pages: what repeats across them is not article.

Extractors judge one page at a time, by markup and text density; on pages built from plain
<div>s with hashed class names that is a guess, and they keep menus, "Read also" boxes,
"Most read" lists, captions and banners, or drop paragraphs. A crawl, though, sees many
pages of each outlet, and an outlet's chrome repeats from page to page while its articles
do not. So every page is cut into text blocks, each block gets a fingerprint of where it
sits and what it says, and a fingerprint seen on :data:`MIN_PAGES` different pages of one
host (on a large one, on :data:`CHROME_SHARE` of them) is chrome there. Before extraction
the blocks whose fingerprint is in the host's :class:`SiteModel` lose their text.

Where a block sits is its path of tag names from <body>, with the class names of the block
and of its parent: hashed class names are stable across one outlet's pages, and they tell
a listing's teaser (the article's first sentence, repeated on the home, section and tag
pages) from that sentence as the article's own first paragraph, at the same tag path.
What a block says is its own text with link text and digits masked, so that a "Read also:
<headline>" box or a "12:30 <headline>" list item repeats its shape whatever it shows.

Counting happens in the crawl's main process (:class:`ChromeLearner`, a few dictionary
updates per block), fingerprinting and stripping in the extraction workers, which get the
host's model, a frozenset of integers, with each page.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement
from trafilatura.utils import load_html

#: Seen on this many different pages of a host, a block is that host's chrome. Three, not
#: two: a story's article is often fetched at two URLs (a print or AMP copy, a moved URL).
MIN_PAGES = 3
#: ...and, once :data:`SHARE_FROM` pages of the host are counted, on at least this share
#: of them: chrome is on most of an outlet's pages, while a background paragraph that a few
#: follow-ups repeat, or a sentence a site's pages share by chance, is on few of them.
#: Without it a 20,000-page crawl grew one site's model to 38,000 fingerprints. Below
#: SHARE_FROM pages the share is left out, so that a small crawl and the re-extraction of
#: its archive, which count the same pages in another order, learn the same model.
CHROME_SHARE = 0.2
SHARE_FROM = 100
#: Fingerprints counted per host before those seen once are forgotten: the unique ones are
#: article text, and a long crawl must not keep all of them.
MAX_COUNTED = 200_000

#: Elements that flow inside a block of text; any other element starts a block of its own.
INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "br", "button", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "img", "input", "ins", "kbd", "label", "mark", "q", "s", "samp", "select",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
})  # fmt: skip
#: Elements whose text no reader sees.
UNSEEN = frozenset({"head", "script", "style", "noscript", "template", "svg", "iframe", "object"})
LINK = "\u27e8a\u27e9"  # what a link's text becomes in a block's shape
_DIGITS = re.compile(r"\d")
_NUMBERED = re.compile(r"(?:^|[-_])\d+(?:$|[-_])")


def host_of(url: str) -> str:
    """The host a page's chrome belongs to; "www." and the port do not change a site."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def fingerprint(path: str, shape: str) -> int:
    """A stable 63-bit integer (Python's own hash differs from process to process)."""
    digest = hashlib.blake2b(f"{path}\x00{shape}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _shape(element: HtmlElement, parts: list[str]) -> None:
    """Append an inline element's text to ``parts``, a link as :data:`LINK`."""
    if element.tag == "a":
        parts.append(f" {LINK} ")
        return
    parts.append(element.text or "")
    for child in element:
        if isinstance(child.tag, str) and child.tag not in UNSEEN:
            _shape(child, parts)
        parts.append(child.tail or "")


def _own_shape(element: HtmlElement) -> str:
    """The block's own text (not that of the blocks inside it), normalised to its shape."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag in INLINE:
            _shape(child, parts)
        parts.append(child.tail or "")
    text = " ".join("".join(parts).split())
    return _DIGITS.sub("0", text.lower())


def _classes(element: HtmlElement | None) -> str:
    """An element's class names, less the numbered ones ("item-3", "post-1234"), which
    change from page to page where hashed ones ("x8kq2f") do not."""
    names = (element.get("class") or "").split() if element is not None else []
    return "." + ".".join(sorted(n for n in names if not _NUMBERED.search(n)))


def blocks(tree: HtmlElement) -> Iterator[tuple[HtmlElement, int]]:
    """Every block of the page's body that has text of its own, with its fingerprint."""
    body = tree.find("body")
    if body is None:
        return
    stack: list[tuple[HtmlElement, str]] = [(body, "body")]
    while stack:
        element, path = stack.pop()
        shape = _own_shape(element)
        if any(c.isalnum() for c in shape):  # a link's mark counts: it stands for text
            parent = element.getparent()
            where = f"{path}{_classes(parent)}{_classes(element)}"
            yield element, fingerprint(where, shape)
        for child in element:
            tag = child.tag
            if isinstance(tag, str) and tag not in INLINE and tag not in UNSEEN:
                stack.append((child, f"{path}/{tag}"))


def page_fingerprints(html: str | bytes) -> frozenset[int]:
    """The fingerprints of a page's blocks, for learning alone (no extraction)."""
    tree = load_html(html)
    return frozenset(fp for _, fp in blocks(tree)) if tree is not None else frozenset()


def _clear(element: HtmlElement) -> None:
    """Remove a block's own text and inline content; the blocks inside it stay."""
    element.text = None
    for child in list(element):
        if isinstance(child.tag, str) and child.tag in INLINE:
            element.remove(child)  # its tail goes too: it was this block's text
        else:
            child.tail = None


def strip(tree: HtmlElement, chrome: frozenset[int]) -> frozenset[int]:
    """Clear the blocks whose fingerprint is in ``chrome``; return every block's fingerprint
    (taken before anything is cleared: what the learner counts)."""
    found = list(blocks(tree))
    for element, fp in found:
        if fp in chrome:
            _clear(element)
    return frozenset(fp for _, fp in found)


@dataclass(frozen=True)
class SiteModel:
    """One host's chrome: the fingerprints of its repeating blocks, and the model's version
    (it grows as the crawl sees more pages; documents record which version made them)."""

    host: str
    version: int
    fingerprints: frozenset[int]

    @property
    def label(self) -> str:
        return f"{self.host}@{self.version}"

    def packed(self) -> bytes:
        """Eight little-endian bytes per fingerprint, sorted: how the database keeps it."""
        values = array("q", sorted(self.fingerprints))
        if sys.byteorder == "big":
            values.byteswap()
        return values.tobytes()

    @classmethod
    def unpack(cls, host: str, version: int, data: bytes) -> SiteModel:
        values = array("q")
        values.frombytes(data)
        if sys.byteorder == "big":
            values.byteswap()
        return cls(host, version, frozenset(values))


class _Host:
    """What the learner knows of one host: its model, and the counts that grow it."""

    def __init__(self, model: SiteModel | None):
        self.model = model
        self.counts: dict[int, int] = {}
        self.pages: set[str] = set()


class ChromeLearner:
    """Counts block fingerprints over each host's pages, and grows the host's model.

    A page is counted once, by URL, however often it is fetched. Counts live only as long as
    the learner (one crawl, one re-extraction); what they established, the models, is kept
    in the database and is where the next learner starts.
    """

    def __init__(self, models: Iterable[SiteModel] = (), min_pages: int = MIN_PAGES):
        self.min_pages = min_pages
        self._hosts = {model.host: _Host(model) for model in models}

    def model(self, url: str) -> SiteModel | None:
        host = self._hosts.get(host_of(url))
        return host.model if host else None

    def models(self) -> list[SiteModel]:
        return [host.model for host in self._hosts.values() if host.model]

    def learn(self, url: str, fingerprints: Iterable[int]) -> SiteModel | None:
        """Count a page's blocks; return the host's new model when this page grew it."""
        name = host_of(url)
        if not name:  # a saved file, not a site
            return None
        host = self._hosts.setdefault(name, _Host(None))
        if url in host.pages:
            return None
        host.pages.add(url)
        known = host.model.fingerprints if host.model else frozenset()
        counts = host.counts
        counted = len(host.pages)
        share = math.ceil(CHROME_SHARE * counted) if counted >= SHARE_FROM else 0
        needed = max(self.min_pages, share)
        new = set()
        for fp in fingerprints:
            if fp in known:
                continue
            seen = counts.get(fp, 0) + 1
            if seen >= needed:
                new.add(fp)
                del counts[fp]
            else:
                counts[fp] = seen
        if len(counts) > MAX_COUNTED:
            host.counts = {fp: n for fp, n in counts.items() if n > 1}
        if not new:
            return None
        version = host.model.version + 1 if host.model else 1
        host.model = SiteModel(name, version, known | new)
        return host.model
