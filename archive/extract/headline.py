"""The headline is the title, not the text's first line.

Extractors keep an article's <h1> when it sits inside the article's markup, so the text
starts with the title a reader already has in the title field; five pages in ten of one
crawl did. The first lines of the text that are the headline (whitespace, case and final
punctuation aside) are dropped; a text that is only its headline is left as it is.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[\s\W_]+")


def _key(line: str) -> str:
    return _PUNCTUATION.sub(" ", line).strip().casefold()


def without_headline(text: str, title: str | None) -> str:
    if not title or not (key := _key(title)):
        return text
    lines = text.split("\n")
    first = 0
    while first < len(lines) - 1 and (not lines[first].strip() or _key(lines[first]) == key):
        first += 1
    return "\n".join(lines[first:]) if first else text
