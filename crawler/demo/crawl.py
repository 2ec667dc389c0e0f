"""The demo's crawl: the bundled story on the news web, and settings for a loopback web."""

from __future__ import annotations

from pathlib import Path

from crawler.demo.server import NewsWeb
from crawler.storyfile import StoryDefinition, build_story

#: Loopback serves in microseconds: politeness delays would only slow the demo down.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "WARNING",
}


def demo_story(web: NewsWeb, data: Path) -> StoryDefinition:
    """The bundled story: the January report and the March follow-up, six outlets to watch."""
    return build_story(
        {
            "name": "aegis-ashore",
            "seeds": [
                web.url("japan-dismisses-russia-concerns-missile-systems"),
                web.url("japan-missile-defense-poses-no-threat-to-russia-top-diplomat"),
            ],
            "sites": list(web.base_urls.values()),
            "since": "2017-12-01",
            "until": "2018-06-30",
            "data": str(data),
        },
        {},
    )
