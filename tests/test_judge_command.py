"""`storycrawl judge` as a user meets it: JSON lines in, one verdict per article and story out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive.judge.datasets import invented
from tests.conftest import CrawlRun, storycrawl
from tests.test_cli import one_line_error

COMMAND = [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())"]


def _line(doc, **extra) -> str:
    article = doc.article
    return json.dumps({"title": article.title, "text": article.text, "date": article.date,
                       "id": doc.id} | extra)  # fmt: skip


@pytest.fixture(scope="module")
def stories() -> dict[str, list]:
    docs = invented()
    return {
        name: [d for d in docs if d.story == name] for name in ("halvorsen-bid", "lenna-dam")
    } | {"near-misses": [d for d in docs if d.topic == docs[0].topic and not d.story]}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_corpus_is_filtered_for_each_story_its_seeds_name(tmp_path, stories):
    bid, dam = stories["halvorsen-bid"], stories["lenna-dam"]
    seeds = write(
        tmp_path / "seeds.jsonl", [_line(bid[0], story="bid"), _line(dam[0], story="dam")]
    )
    corpus = [_line(d, outlet="wire") for d in bid[1:] + dam[1:]]
    corpus.append(_line(bid[1], story="dam"))  # told which story: judged against it alone
    out = tmp_path / "out.jsonl"
    done = storycrawl("judge", "--seeds", str(seeds), str(write(tmp_path / "c.jsonl", corpus)),
                      "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 2 * (len(corpus) - 1) + 1
    for record in records:  # the article's fields, and the verdict
        assert {"id", "title", "text", "date", "story", "score", "is_match", "why"} <= set(record)
        assert 0 <= record["score"] <= 1 and record["why"]
    assert sum("outlet" in r for r in records) == 2 * (len(corpus) - 1)
    matched = {(r["id"], r["story"]) for r in records if r["is_match"]}
    assert {(d.id, "bid") for d in bid[1:]} <= matched
    assert {(d.id, "dam") for d in dam[1:]} <= matched
    assert not {(d.id, "dam") for d in bid[1:]} & matched
    assert not {(d.id, "bid") for d in dam[1:]} & matched
    last = records[-1]  # the line told its story: one record
    assert (last["id"], last["story"], last["is_match"]) == (bid[1].id, "dam", False)


def test_a_hand_written_corpus_on_standard_input_with_a_threshold(tmp_path, stories):
    bid = stories["halvorsen-bid"]
    seeds = write(tmp_path / "aegis.jsonl", [_line(bid[0])])
    corpus = "\n".join(_line(d) for d in bid[1:] + stories["near-misses"]) + "\n"
    runs = {}
    for threshold in ("0.05", "0.99"):
        done = subprocess.run(
            [*COMMAND, "judge", "--seeds", str(seeds), "-", "--threshold", threshold],
            input=corpus, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert {r["story"] for r in records} == {"aegis"}  # seeds without a story: the file's
        runs[threshold] = sum(r["is_match"] for r in records)
    assert runs["0.05"] > runs["0.99"]


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "not a JSON object"),
        ('{"title": "t", "text": "x", "date": "last Tuesday"}', "ISO 8601"),
        ('{"title": 3, "text": "x"}', "'title' is not a string"),
        ('{"url": "https://example.com/"}', "not an article"),
    ],
)
def test_a_bad_corpus_line_is_one_error_naming_its_line(tmp_path, stories, bad, named):
    seeds = write(tmp_path / "seeds.jsonl", [_line(stories["halvorsen-bid"][0])])
    corpus = write(tmp_path / "corpus.jsonl", [_line(stories["lenna-dam"][0]), "", bad])
    out = tmp_path / "out.jsonl"
    done = storycrawl("judge", "--seeds", str(seeds), str(corpus), "--out", str(out))
    one_line_error(done.returncode, done.stderr, f"{corpus}:3:", named)
    assert not out.exists() and not list(tmp_path.glob("*.partial*"))  # no half a file


def test_bad_seeds_and_options_are_one_line_errors(tmp_path, stories):
    corpus = write(tmp_path / "corpus.jsonl", [_line(stories["lenna-dam"][0])])
    bad_seeds = write(tmp_path / "seeds.jsonl", ['{"title": "t", "text": "x"}', "[]"])
    done = storycrawl("judge", "--seeds", str(bad_seeds), str(corpus))
    one_line_error(done.returncode, done.stderr, f"{bad_seeds}:2:")
    done = storycrawl("judge", "--seeds", str(tmp_path / "missing.jsonl"), str(corpus))
    one_line_error(done.returncode, done.stderr, "missing.jsonl")
    done = storycrawl("judge", "--seeds", str(corpus), str(corpus), "--threshold", "1.5")
    one_line_error(done.returncode, done.stderr, "--threshold")
    empty = write(tmp_path / "empty.jsonl", [""])
    done = storycrawl("judge", "--seeds", str(empty), str(corpus))
    one_line_error(done.returncode, done.stderr, "no seed article")


def test_storycrawl_export_is_input_as_it_is(story_crawl: CrawlRun, tmp_path):
    assert story_crawl.returncode == 0, story_crawl.stderr[-2000:]
    exported = story_crawl.export("--all")
    seed_urls = set(story_crawl.story.seeds)
    seeds = [r for r in exported if r["url"] in seed_urls]
    assert seeds
    seeds_file = write(tmp_path / "seeds.jsonl", [json.dumps(r) for r in seeds])
    corpus = write(tmp_path / "export.jsonl", [json.dumps(r) for r in exported])
    done = storycrawl("judge", "--seeds", str(seeds_file), str(corpus))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == len(exported)  # one story: the export's own
    assert {r["story"] for r in records} == {story_crawl.story.name}
    assert [r["url"] for r in records] == [r["url"] for r in exported]
    # The crawl's verdicts and the command's agree on what the crawl took for the story.
    crawl = {r["url"] for r in exported if r["is_match"]}
    command = {r["url"] for r in records if r["is_match"]}
    assert len(crawl & command) >= 0.9 * len(crawl)
