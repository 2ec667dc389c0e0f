"""Crawls against hostile or broken servers on loopback: other ports of a named host,
robots.txt that fails, decompression bombs, pages with a flood of links."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from scrapy.utils.defer import deferred_f_from_coro_f

from crawler.discovery.scope import Scope
from tests.servers import LoopbackServer, Reply, page
from tests.test_capture import crawl
from tests.test_frontier import SEED_TEXT, dated_article


def candidate_urls(data: Path) -> list[str]:
    with sqlite3.connect(data / "storycrawl.db") as database:
        return [url for (url,) in database.execute("SELECT url FROM candidates")]


# -- scope by origin ----------------------------------------------------------------------


def test_scope_is_by_origin_with_subdomains_on_the_same_port() -> None:
    scope = Scope.of(["http://127.0.0.1:8001/seed", "https://example.com/news/"])
    assert scope.allows("http://127.0.0.1:8001/other")
    assert not scope.allows("http://127.0.0.1:9002/other")
    assert scope.allows("http://example.com/old-link")  # the same site before https
    assert scope.allows("https://www.example.com/a")
    assert not scope.allows("https://example.com:8443/a")
    assert not scope.allows("https://www.example.com:8443/a")
    assert not scope.allows("https://notexample.com/a")


@deferred_f_from_coro_f
async def test_another_port_of_a_named_host_is_another_site(tmp_path) -> None:
    """Links, a redirect and a robots.txt Sitemap line lead from the named port to another
    port of the same host: nothing is fetched there, not even its robots.txt."""
    with LoopbackServer("127.0.0.23", {}) as named, LoopbackServer("127.0.0.23", {}) as other:
        links = (
            f'<a href="{other.url}/onodera-aegis-ashore">Onodera Aegis Ashore defend Japan</a>'
            '<a href="/news/aegis-ashore-onodera">Onodera: Aegis Ashore will only defend Japan</a>'
        )
        other.routes["/onodera-aegis-ashore"] = page(
            dated_article("Onodera Aegis Ashore", "2018-01-16", SEED_TEXT)
        )
        named.routes.update({
            "/robots.txt": lambda: Reply(headers=[("Content-Type", "text/plain")],
                                         body=f"Sitemap: {other.url}/sitemap.xml\n".encode()),
            "/seed": page(dated_article("Japan dismisses Russia's concerns", "2018-01-16",
                                        SEED_TEXT, links)),
            "/news/aegis-ashore-onodera": lambda: Reply(302, [("Location", f"{other.url}/moved")]),
        })  # fmt: skip
        crawler = await crawl(tmp_path, f"{named.url}/seed")
    assert "/seed" in named.requested and "/news/aegis-ashore-onodera" in named.requested
    assert other.requested == []
    assert crawler.stats.get_value("storycrawl/guard/refused_private") == 1  # the redirect
    assert not [url for url in candidate_urls(tmp_path) if url.startswith(other.url)]
