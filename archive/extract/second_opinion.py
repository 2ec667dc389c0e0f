"""jusText's reading of a page, asked for where trafilatura found next to nothing.

trafilatura sometimes settles for a line or two (a tagline, a caption) on a page that holds
an article in a template it does not recognise; jusText classifies every paragraph of the
page by length, link density and stopwords, a different way of being wrong, and on those
pages it finds the article. Asked more widely it does harm: on trafilatura's evaluation
corpus, pages where trafilatura returned under 500 characters, or mostly link text, lost
passages and gained comments and cookie banners with jusText's text (bench/extraction.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

import justext
from lxml.html import HtmlElement
from trafilatura.settings import JUSTEXT_LANGUAGES

#: Below this many characters trafilatura has found next to nothing (its own threshold for
#: trying other algorithms, min_extracted_size).
THIN = 250
#: jusText's answer must be an article's worth of text, not another stub.
ENOUGH = 500


@dataclass(frozen=True)
class Tool:
    name: str
    version: str


TRAFILATURA = Tool("trafilatura", version("trafilatura"))
JUSTEXT = Tool("justext", version("justext"))


@dataclass(frozen=True)
class Found:
    """A page's text, and the extractor it is from."""

    text: str
    tool: Tool


@cache
def _stoplist(language: str | None) -> frozenset[str]:
    """The language's stopwords; every language's when it is unknown (jusText's own advice
    for mixed or unknown pages)."""
    if language in JUSTEXT_LANGUAGES:
        return frozenset(justext.get_stoplist(JUSTEXT_LANGUAGES[language]))
    return frozenset(
        word for name in justext.get_stoplists() for word in justext.get_stoplist(name)
    )


def _justext(tree: HtmlElement, language: str | None) -> str:
    paragraphs = justext.core.ParagraphMaker.make_paragraphs(justext.core.preprocessor(tree))
    justext.core.classify_paragraphs(paragraphs, _stoplist(language))
    justext.core.revise_paragraph_classification(paragraphs)
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def text(tree: HtmlElement, found: str, language: str | None) -> Found:
    """trafilatura's text, or jusText's where trafilatura's is a stub and jusText's is not."""
    if len(found) < THIN and len(other := _justext(tree, language)) >= ENOUGH:
        return Found(other, JUSTEXT)
    return Found(found, TRAFILATURA)
