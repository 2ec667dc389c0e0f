"""What storycrawl keeps of a page: site models, the second opinion, metadata, provenance.

The gate at the top scores the bundled news web as bench/extraction.py does and pins what a
regression would break: with its outlets' site models storycrawl leaves no chrome string
and beats trafilatura alone on precision and F1 without losing recall.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.metadata import version

import pytest
from lxml import html
from sqlalchemy import create_engine, text
from trafilatura.deduplication import Simhash
from trafilatura.utils import load_html

from archive.db.engine import head_revision, open_engine, upgrade_database
from archive.db.repository import Store
from archive.extract import extract, second_opinion
from archive.extract.chrome import (
    MIN_PAGES,
    SHARE_FROM,
    ChromeLearner,
    SiteModel,
    blocks,
    page_fingerprints,
    strip,
)
from archive.extract.metadata import authors, headline, page_facts
from archive.simhash import simhash
from bench.extraction import RUNNERS, Scores, newsweb_outlets, score_newsweb
from crawler.demo import load_articles
from tests.test_store import execute, migrate_to, page_record

# -- the gate: the news web ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Scores]]:
    outlets = newsweb_outlets()
    names = ("trafilatura alone", "storycrawl, new outlet", "storycrawl, site model")
    return {name: score_newsweb(RUNNERS[name], outlets) for name in names}


def test_site_models_leave_no_chrome_string_on_any_outlet(scores) -> None:
    left = {o: s.clean_share for o, s in scores["storycrawl, site model"].items() if o != "all"}
    assert left and all(share == 1.0 for share in left.values()), left
    # trafilatura alone does leave some: the gate measures something.
    assert scores["trafilatura alone"]["all"].clean_share < 0.9


def test_site_models_beat_trafilatura_alone_without_losing_recall(scores) -> None:
    ours, theirs = scores["storycrawl, site model"], scores["trafilatura alone"]
    assert ours["all"].precision > theirs["all"].precision
    assert ours["all"].f1 > theirs["all"].f1
    for outlet, mine in ours.items():
        assert mine.recall >= theirs[outlet].recall, outlet
        assert mine.precision >= theirs[outlet].precision, outlet
    # Pinned below the figures of bench/extraction.py (0.981, 1.000; the headline, kept at
    # the top of the text, is all that is not body): lowering them takes a reason.
    assert ours["all"].precision >= 0.975 and ours["all"].recall >= 0.995


def test_a_new_outlet_is_no_worse_than_trafilatura_alone(scores) -> None:
    ours, theirs = scores["storycrawl, new outlet"]["all"], scores["trafilatura alone"]["all"]
    assert (ours.precision, ours.recall) >= (theirs.precision, theirs.recall)


def test_title_date_and_author_are_the_articles(scores) -> None:
    mine = scores["storycrawl, site model"]["all"]
    assert [mine.accuracy(n) for n in ("title", "date", "author")] == [1.0, 1.0, 1.0]


# -- learning an outlet's chrome ---------------------------------------------------------------


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


def article(n: int, box: str = "") -> str:
    """A page of one made-up outlet: chrome around a paragraph of its own."""
    words = " ".join(["Paragraph"] + ["again"] * n)  # digits would be masked: all the same
    return page(
        '<div class="nav"><a href="/">Home</a></div>'
        f"<div class='main'><p>{words} says what no other page says.</p>{box}</div>"
        '<div class="foot">© 2018 Example Media</div>'
    )


def read_also(headline: str) -> str:
    return f'<div class="x7f"><span>Read also:</span> <a href="/a">{headline}</a></div>'


def test_a_read_also_box_keeps_its_shape_whatever_headline_it_shows() -> None:
    one = page_fingerprints(article(1, read_also("Tokyo says no")))
    two = page_fingerprints(article(2, read_also("Moscow repeats its concerns")))
    assert len(one & two) == 3  # the menu, the footer and the box; not the paragraphs


def test_a_block_is_chrome_from_its_third_page_and_a_page_counts_once() -> None:
    learner = ChromeLearner()
    first = page_fingerprints(article(1))
    for _ in range(MIN_PAGES):
        assert learner.learn("http://news.example/1", first) is None
    assert learner.learn("http://www.news.example/2", page_fingerprints(article(2))) is None
    model = learner.learn("http://news.example:8080/3", page_fingerprints(article(3)))
    assert model is not None and (model.host, model.version) == ("news.example", 1)
    assert learner.model("https://news.example/any") == model
    assert len(model.fingerprints) == 2  # menu and footer
    # Later pages grow the model; a page of another host does not.
    for n in range(4, 4 + MIN_PAGES):
        grown = learner.learn(
            f"http://news.example/{n}", page_fingerprints(article(n, read_also(str(n))))
        )
    assert grown is not None and (grown.version, len(grown.fingerprints)) == (2, 3)
    assert learner.model("http://other.example/") is None
    assert learner.learn("file:///saved/page.html", first) is None  # no site to learn


def test_a_block_on_few_of_many_pages_is_not_chrome() -> None:
    """A background paragraph that a handful of an outlet's articles repeat stays article
    text once the crawl has seen many of its pages; the menu on every page is chrome."""
    background = "<p>The plan was approved last year after a long and bitter debate.</p>"
    chrome = page_fingerprints(article(1)) & page_fingerprints(article(2))  # menu, footer
    repeated = page_fingerprints(article(1, background)) - page_fingerprints(article(1))
    assert len(chrome) == 2 and len(repeated) == 1
    learner = ChromeLearner()
    for n in range(1, SHARE_FROM + 101):  # past SHARE_FROM, one page in ten repeats it
        page = article(n, background if n > SHARE_FROM and n % 10 == 0 else "")
        learner.learn(f"http://news.example/{n}", page_fingerprints(page))
    model = learner.model("http://news.example/")
    assert model is not None and model.fingerprints == chrome


def test_stripping_clears_the_chrome_and_keeps_the_blocks_inside_it() -> None:
    tree = load_html(page('<div class="box">Most read <p>The article itself.</p> Share</div>'))
    box = next(fp for element, fp in blocks(tree) if element.tag == "div")
    found = strip(tree, frozenset({box}))
    assert box in found and len(found) == 2
    assert " ".join(tree.find("body").text_content().split()) == "The article itself."


def test_a_site_model_packs_into_eight_bytes_a_fingerprint() -> None:
    model = SiteModel("news.example", 4, frozenset({1, 2**62, 7}))
    assert len(model.packed()) == 24
    assert SiteModel.unpack("news.example", 4, model.packed()) == model
    assert model.label == "news.example@4"


# -- documents say what made them --------------------------------------------------------------


def test_documents_record_extractor_version_and_site_model() -> None:
    outlet = newsweb_outlets()[0]
    story, url = outlet.articles[0]
    model = outlet.model()
    assert model is not None
    made = extract(outlet.pages[url], url, model)
    bare = extract(outlet.pages[url], url)
    assert made is not None and bare is not None
    assert (made.extractor, made.extractor_version) == ("trafilatura", version("trafilatura"))
    assert (made.site_model, bare.site_model) == (model.label, None)
    assert made.title == story.title


def test_jusText_is_asked_only_where_trafilatura_found_next_to_nothing() -> None:
    paragraph = (
        "The ministry said on Tuesday that it would not change its plans for the new system, "
        "and that the talks with the neighbouring countries would go on as they had before. "
        "Officials in both capitals said they expected the next round to take place in May."
    )
    tree = load_html(page("".join(f"<p>{paragraph}</p>" for _ in range(6))))
    thin = second_opinion.text(tree, "Subscribe", "en")
    assert thin.tool == second_opinion.Tool("justext", version("justext"))
    assert paragraph in thin.text
    found = paragraph * 3
    assert second_opinion.text(tree, found, "en").tool == second_opinion.TRAFILATURA


# -- metadata ----------------------------------------------------------------------------------


def facts(head: str, body: str = ""):
    return page_facts(
        html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    )


def test_the_headline_is_the_visible_one_without_the_site_name() -> None:
    page_ = facts(
        "<title>Japan says no \u2013 again | The Daily Courier</title>"
        '<meta property="og:site_name" content="The Daily Courier">',
        "<h1>The Daily Courier</h1><h1>Japan says no \u2013 again</h1>",
    )
    assert headline(page_, "The Daily Courier", None) == "Japan says no \u2013 again"
    bare = facts("<title>Crescent TV - Japan says no</title>", "<h1>Crescent TV</h1>")
    assert headline(bare, "Crescent TV - Japan says no", "Crescent TV") == "Japan says no"
    escaped = facts('<meta property="og:title" content="Signa &amp;#8211; Berater">')
    assert headline(escaped, None, None) == "Signa \u2013 Berater"


def test_authors_leave_out_the_publisher_unless_it_is_the_only_byline() -> None:
    ld = {
        "@type": "NewsArticle",
        "author": {"@type": "Organization", "name": "Example Media"},
        "publisher": {"@type": "Organization", "name": "Example Media"},
        "inLanguage": "de-AT",
    }
    page_ = facts(f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    assert authors("Example Media GmbH; Jane Doe", page_, None) == ("Jane Doe",)
    assert authors("By Jane Doe", page_, None) == ("Jane Doe",)
    assert authors("Example Media", page_, None) == ("Example Media",)  # a blog's owner
    assert authors(None, page_, None) == ()  # an unsigned story
    agency = facts('<meta name="author" content="Northwire">')
    assert authors(None, agency, "The Asia Ledger") == ("Northwire",)
    assert page_.language == "de"


# -- site models in the database ---------------------------------------------------------------


def test_site_models_are_kept_and_never_replaced_by_an_older_version(database_url) -> None:
    store = Store(open_engine(database_url))
    store.save_site_model(SiteModel("news.example", 2, frozenset({1, 2})))
    store.save_site_model(SiteModel("other.example", 1, frozenset({3})))
    store.save_site_model(SiteModel("news.example", 1, frozenset({9})))  # late, older
    store.save_site_model(SiteModel("other.example", 3, frozenset({3, 4})))
    kept = {m.host: m for m in store.site_models()}
    assert kept == {
        "news.example": SiteModel("news.example", 2, frozenset({1, 2})),
        "other.example": SiteModel("other.example", 3, frozenset({3, 4})),
    }
    store.engine.dispose()


def test_documents_keep_their_provenance(database_url) -> None:
    store = Store(open_engine(database_url))
    story_id = store.story_id("s", {"name": "s"})
    crawl_id = store.start_crawl(story_id, {})
    record = page_record(1)
    document = replace(record.document, extractor="justext", extractor_version="3.0.2",
                       site_model="news.example@4")  # fmt: skip
    store.write_batch(crawl_id, story_id, [replace(record, document=document)])
    stored = store.stored_document("s", record.canonical_url)
    assert stored is not None
    assert (stored.extractor, stored.extractor_version, stored.site_model) == (
        "justext", "3.0.2", "news.example@4"
    )  # fmt: skip
    page_id = next(iter(store.document_site_models("s")))
    assert store.document_site_models("s") == {page_id: "news.example@4"}
    store.engine.dispose()


def test_upgrade_splits_the_extractor_into_name_and_version(database_url) -> None:
    migrate_to(database_url, "0003")
    execute(
        database_url,
        "INSERT INTO stories (id, name, definition, created_at)"
        " VALUES (1, 's', '{}', '2018-01-15 11:00:00')",
        "INSERT INTO crawls (id, story_id, definition, started_at)"
        " VALUES (1, 1, '{}', '2018-01-15 11:00:00')",
        "INSERT INTO pages (id, crawl_id, url, canonical_url, status, content_type, fetched_at,"
        " warc_file, warc_offset, warc_length, warc_record_id, warc_type, payload_digest)"
        " VALUES (1, 1, 'https://news.example/a', 'https://news.example/a', 200, 'text/html',"
        " '2018-01-15 12:30:00', 'a.warc.gz', 0, 900, '<urn:uuid:1>', 'response', 'sha1:A')",
        "INSERT INTO documents (id, page_id, title, text, simhash, is_article, extractor,"
        " created_at) VALUES (1, 1, 'A', 'Text', '00ff00ff00ff00ff', TRUE, 'trafilatura 2.3.1',"
        " '2018-01-15 12:30:00'), (2, 1, 'A', 'Text', '00ff00ff00ff00ff', TRUE, 'bench',"
        " '2018-01-15 12:31:00')",
    )
    assert upgrade_database(database_url) == ("0003", head_revision())
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT extractor, extractor_version, site_model FROM documents ORDER BY id")
        ).all()
        assert connection.execute(text("SELECT count(*) FROM site_models")).scalar() == 0
    engine.dispose()
    assert [tuple(row) for row in rows] == [("trafilatura", "2.3.1", None), ("bench", None, None)]


def test_simhash_is_trafilaturas_to_the_bit():
    """Stored fingerprints from earlier crawls and re-extractions must compare with new
    ones: the fast SimHash has to give trafilatura's own bits, for any text."""
    texts = [a.body for a in load_articles()]
    texts += ["", "a b c", "。、 中文 新闻", "word " * 5000, " ".join(texts)]
    for body in texts:
        assert simhash(body) == Simhash(body).hash, body[:80]
