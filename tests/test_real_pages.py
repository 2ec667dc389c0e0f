"""Extraction on real news pages: dates, authors, titles and text a reader would check.

The pages are the real-page fixtures of bench/fixtures.py (fundus's publishers,
trafilatura's evaluation pages), each compared with what its source annotates. They are
built from public snapshots, not committed (bench/fixtures.py says why), so these tests
skip, saying so, where the set is not built. The behaviours below them (metadata from the
page as fetched, headline, language) need no fixture.
"""

from __future__ import annotations

from functools import cache

import pytest
from trafilatura.utils import load_html

from archive.extract import extract
from archive.extract.chrome import SiteModel, blocks
from bench.extraction import author_f1, same_day, token_f1
from bench.fixtures import Fixture, load, location


@cache
def _dev() -> dict[str, Fixture]:
    return {fixture.id: fixture for fixture in load("dev")}


def real_page(fixture_id: str) -> Fixture:
    if not _dev():
        pytest.skip(f"real-page fixtures not built at {location()} (bench/fixtures.py build)")
    return _dev()[fixture_id]


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "fixture_id",
    [
        "fundus-uk-TheTelegraph_2023_08_30",  # trafilatura alone: a date of 2019
        "fundus-de-DW_2024_01_30",  # <title> ends with the site name and a date
        "fundus-de-BoersenZeitung_2024_10_23",  # "| Börsen-Zeitung"
        "fundus-de-FAZ_2023_04_28",  # the publisher among the authors
        "fundus-us-FreeBeacon_2023_04_28",  # an author named twice, once as a slug
    ],
)
def test_title_date_and_authors_are_the_articles(fixture_id: str) -> None:
    page = real_page(fixture_id)
    document = extract(page.html, page.url)
    assert document is not None
    assert document.title == _norm(page.title)
    assert same_day(document.date, page.date), document.date
    assert author_f1(document.author, page.authors) == 1.0, document.author


@pytest.mark.parametrize(
    "fixture_id",
    ["trafilatura-fitforfun-de-sozialeaengste-html", "trafilatura-winfuture-de-nasa-html"],
)
def test_a_single_page_loses_its_lists_of_links_and_keeps_the_article(fixture_id: str) -> None:
    page = real_page(fixture_id)
    document = extract(page.html, page.url)
    assert document is not None
    text = _norm(document.text)
    assert all(_norm(passage) in text for passage in page.with_passages)
    assert not [p for p in page.without_passages if _norm(p) in text]


def test_body_text_is_the_articles_on_a_real_page() -> None:
    page = real_page("fundus-at-ORF_2024_11_22")
    document = extract(page.html, page.url)
    assert document is not None
    assert token_f1(document.text, page.body)[2] >= 0.95
    assert not document.text.startswith(page.title)
    assert document.language == page.language == "de"


# -- behaviour on made-up pages ------------------------------------------------------------

ARTICLE = " ".join(
    ["The ministry said on Tuesday that it would not change its plans for the new system."] * 12
)


def page(head: str, body: str, lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body>{body}</body></html>'


def test_the_date_is_read_from_the_page_as_fetched_not_from_the_stripped_tree() -> None:
    """The issue's page: its <time> sits in a block the site model clears, and its body
    mentions another year. The date is the page's all the same."""
    html = page(
        "<title>Japan says no</title>",
        '<div class="meta">Published <time datetime="2017-12-28T09:00:00+03:00">'
        "28 December 2017</time></div>"
        f"<article><h1>Japan says no</h1><p>{ARTICLE}</p>"
        "<p>The system is to be ready in 2023, officials said.</p></article>",
    )
    meta = next(fp for element, fp in blocks(load_html(html)) if element.get("class") == "meta")
    document = extract(html, "https://news.example/a", SiteModel("news.example", 1, {meta}))
    assert document is not None and document.date == "2017-12-28"
    assert "Published" not in document.text  # the model did clear the block


def test_a_year_the_text_mentions_is_no_date() -> None:
    html = page("<title>Japan says no</title>", f"<p>{ARTICLE} It will be ready in 2023.</p>")
    document = extract(html, "https://news.example/plain")
    assert document is not None and document.date is None


def test_the_headline_is_not_the_first_line_of_the_text() -> None:
    html = page(
        '<meta property="og:title" content="Japan says no">',
        f"<article><h1>Japan says no</h1><p>{ARTICLE}</p></article>",
    )
    document = extract(html, "https://news.example/b")
    assert document is not None and document.title == "Japan says no"
    assert document.text.startswith("The ministry said")


def test_language_is_the_texts_when_the_page_declares_another() -> None:
    german = " ".join(["Das Ministerium sagte am Dienstag, es werde seine Pläne nicht ändern."] * 8)
    wrong = extract(page("<title>t</title>", f"<p>{german}</p>", "en"), "https://news.example/c")
    assert wrong is not None and wrong.language == "de"
    right = extract(
        page("<title>t</title>", f"<p>{ARTICLE}</p>", "en-GB"), "https://news.example/d"
    )
    assert right is not None and right.language == "en"
