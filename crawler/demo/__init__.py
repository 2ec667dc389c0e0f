"""The bundled offline news web: fake news outlets on loopback, for the demo and the tests.

Six outlets, each on its own loopback IP (127.0.0.2-7), serve the articles of
articles.toml inside page chrome modelled on real news sites, so that crawling and
text extraction can be exercised without the internet. Between them they have the
hard cases of the real web (print and AMP copies, a syndicated copy, moved
articles, a failing and a slow page, a windows-1252 page, session ids, tracking
parameters, an endless calendar and endless filters, markup without landmarks):
outlets.py says which outlet has which. NewsWeb records every request with the kind
of page it reached, and gives the ground truth to score a crawl against.
"""

from .outlets import CHROME_STRINGS, OUTLETS, Article, Delays, Outlet, load_articles
from .render import PageKind
from .server import NewsWeb, Served

__all__ = [
    "CHROME_STRINGS",
    "OUTLETS",
    "Article",
    "Delays",
    "NewsWeb",
    "Outlet",
    "PageKind",
    "Served",
    "load_articles",
]
