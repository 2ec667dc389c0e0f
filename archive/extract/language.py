"""The language of an article: what its page declares, checked against its text.

Pages declare their language in ``<html lang>``, Open Graph's locale or JSON-LD's
``inLanguage``, and most say it right; some outlets' templates say "en" on every page
whatever the article is in, and some say nothing. py3langid (langid.py's model, ~0.2 ms on
an article's first 2,000 characters) reads the text: where the page says nothing, or the
text is long enough for the reading to be sure and it disagrees, the reading wins
(chosen on the development split of the real-page fixtures, bench/extraction.py).
"""

from __future__ import annotations

import py3langid

#: Characters of text read: enough for a sure reading, cheap on a long article.
SAMPLE = 2000
#: Below this many characters a reading does not overrule the page's declaration.
SURE = 200


def detect(text: str) -> str | None:
    sample = text[:SAMPLE]
    return py3langid.classify(sample)[0] if sample.strip() else None


def language(declared: str | None, text: str) -> str | None:
    """The article's language (ISO 639-1 where there is one)."""
    if declared and len(text) < SURE:
        return declared
    return detect(text) or declared
