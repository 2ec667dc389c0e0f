"""The bundled offline news web: fake news outlets on loopback, for the demo and the tests.

Four outlets, each on its own loopback IP, serve the articles of articles.toml
inside page chrome modelled on real news sites, so that crawling and text
extraction can be exercised without the internet.
"""

from .outlets import CHROME_STRINGS, OUTLETS, Article, Outlet, load_articles
from .server import NewsWeb, Served

__all__ = ["CHROME_STRINGS", "OUTLETS", "Article", "NewsWeb", "Outlet", "Served", "load_articles"]
