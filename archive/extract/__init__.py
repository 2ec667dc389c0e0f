"""What storycrawl keeps of a page: its article text, cleaned, and metadata a reader trusts.

One job per module: :mod:`.page` runs a page through the others (parsed once; metadata
from the page as fetched, text from what is left once chrome is cleared); :mod:`.metadata`
reads title, authors, dates and site name; :mod:`.chrome` learns an outlet's chrome from
its pages and clears it; :mod:`.boilerplate` removes what a single page's structure gives
away as chrome; :mod:`.second_opinion` asks jusText where trafilatura finds next to
nothing; :mod:`.headline` keeps the headline out of the text; :mod:`.language` checks the
declared language against the text; :mod:`.pool` runs extraction in worker processes;
:mod:`.pruning` bounds the links a page may cost.
"""

from archive.extract.document import Document, Extraction
from archive.extract.page import extract, extract_page
from archive.extract.pool import ExtractorPool
from archive.extract.pruning import MAX_LINKS_PER_PAGE, prune_links
from archive.extract.second_opinion import TRAFILATURA

EXTRACTOR_NAME = f"{TRAFILATURA.name} {TRAFILATURA.version}"

__all__ = [
    "EXTRACTOR_NAME",
    "MAX_LINKS_PER_PAGE",
    "Document",
    "Extraction",
    "ExtractorPool",
    "extract",
    "extract_page",
    "prune_links",
]
