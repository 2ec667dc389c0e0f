"""What a page says, reduced once to what the same-story judge compares.

:func:`features_of` is a pure function of the extracted document: it needs no story, so a
page's features can be computed wherever its text is (today on the reactor thread right
before judging, later in the extraction workers) and compared with any number of stories.

Terms are weighted by how rare they are in English at large (wordfreq's frequencies), not
by their rarity in the crawl so far: a score then does not depend on how many pages arrived
before it, and rare names and systems ("Aegis", "Lavrov") carry a story while "said" and
"country" do not.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import pairwise

from wordfreq import zipf_frequency

from archive.judge.article import Readable
from archive.judge.listing import is_listing_url

Vector = Mapping[str, float]

_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
#: Words at least this common (Zipf scale) are function words: no weight at all.
STOPWORD_ZIPF = 5.9
#: A capitalised word this common in lower case ("The", "But", "On") starts a sentence
#: rather than a name.
COMMON_ZIPF = STOPWORD_ZIPF
_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
}  # fmt: skip
#: Words and single punctuation marks: punctuation ends a run of name words.
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019.-][^\W_]+)*|[^\w\s]")
#: Endings of words that are not plurals ('class', 'bonus', 'crisis', 'news', 'politics').
_NOT_PLURAL = ("ss", "us", "is", "news", "ics")
#: Capital letters joined by dots or hyphens: an acronym ("I.R.S.", "U.N.", "H-P").
_ACRONYM = re.compile(r"\b[A-Z](?:[.-][A-Z])+\b\.?")
#: Titles before a name, with their dot: never the name itself.
_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Messrs|Dr|Prof|Sen|Rep|Gov|Gen|Lt|Col|Sgt|Capt|Rev|Sir|Dame)\b\.?\s+(?=[A-Z])"
)
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_QUOTE = re.compile(r"[\"“]([^\"“”]{12,400})[\"”]")
#: Quoted phrases are compared as runs of this many words: long enough to be one
#: speaker's words, short enough that a partial quote still matches.
SHINGLE = 4
#: Neighbouring words of a name this rare (weight; Zipf below 4) name one someone or
#: something together ("Sergey Lavrov"); commoner ones ("Foreign Minister") do not.
LINK_WEIGHT = 5.0
#: Forms of one name differ by at most this many final letters ("Japan", "Japanese")...
FORM_SUFFIX = 3
#: ...and share at least this many.
FORM_STEM = 4
#: How many of a text's heaviest groups of names it keeps (see :func:`core_names`).
CORE_KEPT = 6
#: The judge reads a page's first this many words: a report tells its story in its first
#: paragraphs (the articles the model was fitted on run to 200 words, the news web's to
#: 520), and a 5,000-word page would otherwise cost the crawl five times an article's judging.
JUDGED_WORDS = 1000


@lru_cache(maxsize=200_000)
def term_weight(term: str) -> float:
    """Inverse frequency in English: log10 of one over the term's frequency, 0 for stopwords."""
    zipf = zipf_frequency(term.replace("-", " "), "en")
    return 0.0 if zipf >= STOPWORD_ZIPF else 9.0 - zipf


@lru_cache(maxsize=200_000)
def _normal(word: str) -> str:
    """Lower case, US spelling of 'defence', and the singular of a plural when English
    knows it about as well ('addresses' -> 'address', 'missiles' -> 'missile', but
    'Wales'): a made-up stem would be taken for a rare word and weigh like a name."""
    word = word.lower().replace("\u2019", "'").removesuffix("'s").replace("defence", "defense")
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL):
        return word
    stems = [word[:-1], word[:-2]] + ([word[:-3] + "y"] if word.endswith("ies") else [])
    best = max(stems, key=lambda stem: zipf_frequency(stem, "en"))
    return best if zipf_frequency(best, "en") >= zipf_frequency(word, "en") - 0.7 else word


def terms(text: str) -> list[str]:
    """Content words, normalised, with the bigrams of neighbouring ones ('aegis ashore')."""
    words = [_normal(w) for w in _WORD.findall(text) if not w.isdigit() and len(w) > 1]
    words = [w for w in words if term_weight(w) > 0]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def weight(term: str) -> float:
    """A term's weight; a bigram weighs the mean of its words."""
    if " " not in term:
        return term_weight(term)
    parts = term.split(" ")
    return sum(term_weight(p) for p in parts) / len(parts)


def weighted(counts: Mapping[str, int]) -> dict[str, float]:
    """A unit-length TF-IDF vector (log-scaled term frequency) from term counts."""
    return unit({t: (1 + math.log(n)) * weight(t) for t, n in counts.items()})


def vector(text: str) -> dict[str, float]:
    return weighted(Counter(terms(text)))


def unit(weights: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _scan(text: str) -> tuple[list[list[str]], set[str]]:
    """The text's capitalised runs of words ("Foreign Minister Sergey Lavrov", "SM-3"),
    normalised, each one mention of someone or something; and the words it writes in lower
    case (normalised): common words, not names."""
    found: list[list[str]] = []
    lowercase: set[str] = set()
    run: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        # A run starts at a name word that is not a sentence's common first word ("The").
        if _is_name_word(token) and (run or not _is_common(token)):
            run.append(_normal(token))
            continue
        if token.islower():
            lowercase.add(_normal(token))
        if run:
            found.append(run)
        run = []
    if run:
        found.append(run)
    return found, lowercase


def _run_names(runs: list[list[str]]) -> list[str]:
    """The names of runs, each as its words and, for several words, as the whole run:
    "Lavrov" alone still matches "Sergey Lavrov"."""
    found: list[str] = []
    for run in runs:
        found.extend(run)
        if len(run) > 1:
            found.append(" ".join(run))
    return found


def shorter_forms(word: str) -> list[str]:
    """The word less its last letters, up to :data:`FORM_SUFFIX` of them, never shorter
    than :data:`FORM_STEM`: "japanese" -> "japanes", "japane", "japan"."""
    return [word[:n] for n in range(max(FORM_STEM, len(word) - FORM_SUFFIX), len(word))]


def name_forms(runs: list[list[str]]) -> frozenset[str]:
    """The shorter forms of a text's name words: with them, a page names a word of a
    story's core that it gives a few letters longer ("Japanese" for "Japan"), see
    :mod:`archive.judge.story`."""
    words = {word for run in runs for word in run}
    return frozenset(form for word in words for form in shorter_forms(word))


def core_names(runs: list[list[str]], lower: Collection[str]) -> tuple[tuple[str, float], ...]:
    """The :data:`CORE_KEPT` whom and what a text is most about, heaviest first, each as
    the word that names it most often and its weight.

    Only words the text never writes in lower case (``lower``) count: "Missile Defense
    Agency" names an agency, but "defense" is no one. Names are grouped into someone or
    something each: the rare neighbouring words of one name ("Sergey Lavrov", "Aegis
    Ashore"; not "Foreign Minister") and the forms of one word ("Russia", "Russian"). A
    group weighs the runs that mention it times the rarity of its word, so that the actors
    a report keeps coming back to outweigh a name said once in passing. The word is its
    most mentioned ("Lavrov", not "Sergey"), of several the rarest.
    """
    parent: dict[str, str] = {}

    def root(word: str) -> str:
        while parent[word] != word:
            parent[word] = parent[parent[word]]
            word = parent[word]
        return word

    def join(a: str, b: str) -> None:
        parent[root(a)] = root(b)

    runs = [[word for word in run if term_weight(word) > 0 and word not in lower] for run in runs]
    for run in runs:
        for word in run:
            parent.setdefault(word, word)
        for a, b in pairwise(run):
            if term_weight(a) > LINK_WEIGHT and term_weight(b) > LINK_WEIGHT:
                join(a, b)
    for word in list(parent):
        for form in shorter_forms(word):
            if form in parent:
                join(word, form)
    words = Counter(word for run in runs for word in set(run))
    groups = Counter(r for run in runs for r in {root(word) for word in run})
    heads: dict[str, str] = {}
    for word in sorted(words, key=lambda w: (-words[w], -term_weight(w), w)):
        heads.setdefault(root(word), word)
    weighed = [(heads[r], mentions * term_weight(heads[r])) for r, mentions in groups.items()]
    weighed.sort(key=lambda group: (-group[1], group[0]))
    return tuple(weighed[:CORE_KEPT])


def _is_name_word(word: str) -> bool:
    return word[0].isupper() and len(word) > 1 and word.lower() not in _CALENDAR


def _is_common(word: str) -> bool:
    return not word.isupper() and zipf_frequency(word.lower(), "en") >= COMMON_ZIPF


def numbers(text: str, published: date | None = None) -> frozenset[str]:
    """The figures a text gives (sums, counts, years), commas dropped; single digits are
    too common to tell stories apart, and so are the years around the text's own date
    ("in December 2017", "by the end of 2018"): they date it, any news of the season
    gives them, while a year further off ("2023", "1987") is one of the story's facts."""
    found = (m.group().replace(",", "").rstrip(".") for m in _NUMBER.finditer(text))
    near = {str(published.year + d) for d in (-1, 0, 1)} if published else set()
    return frozenset(n for n in found if len(n.replace(".", "")) > 1 and n not in near)


def _shingles(words: list[str]) -> set[int]:
    """Runs of words as checksums: the same in every process (unlike ``hash``), so that
    features computed in a worker compare with features computed here."""
    return {
        zlib.crc32(" ".join(words[i : i + SHINGLE]).encode())
        for i in range(len(words) - SHINGLE + 1)
    }


def _lower_words(text: str) -> list[str]:
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(text)]


def quote_shingles(text: str) -> frozenset[int]:
    """Runs of words inside quotation marks: what someone said, which follow-ups repeat."""
    found: set[int] = set()
    for match in _QUOTE.finditer(text):
        found |= _shingles(_lower_words(match.group(1)))
    return frozenset(found)


@dataclass(frozen=True)
class DocFeatures:
    """One page as the judge sees it, computed once per page by :func:`features_of`."""

    url: str
    title: Vector
    body: Vector
    names: Vector
    #: The few whom and what the page is most about, heaviest first, with their weights.
    core: tuple[tuple[str, float], ...]
    name_forms: frozenset[str]  # the shorter forms of its name words, see name_forms
    numbers: frozenset[str]
    quotes: frozenset[int]  # shingles of quoted phrases
    shingles: frozenset[int]  # shingles of the whole text, where others' quotes are sought
    published: date | None
    is_article: bool
    words: int  # how long its judged text is

    @property
    def listing(self) -> bool:
        # An article given without its address (a line of a corpus) is no listing.
        return not self.is_article or (bool(self.url) and is_listing_url(self.url))


def published_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def lede(text: str, words: int = JUDGED_WORDS) -> str:
    """The text up to its ``words``-th word."""
    parts = text.split(maxsplit=words)
    return text if len(parts) <= words else text[: len(text) - len(parts[-1])].rstrip()


def spelled_alike(text: str) -> str:
    """One spelling for the forms of a name that outlets write differently: acronyms
    without their dots or hyphens ("I.R.S." and "IRS", "H-P" and "HP"), and no honorific
    ("Mr. Lavrov" is "Lavrov"), which would otherwise start a name or be one."""
    text = _HONORIFIC.sub("", text)
    return _ACRONYM.sub(lambda m: re.sub(r"[.-]", "", m.group()), text)


def features_of(doc: Readable) -> DocFeatures:
    """The features of one document (of its :func:`lede`): pure, and the only text work
    judging a page costs."""
    text = spelled_alike(lede(doc.text))
    title = spelled_alike(doc.title or "")
    # Names from the text only: a Title Case headline would make every word a name.
    runs, lowercase = _scan(text)
    published = published_day(doc.date)
    return DocFeatures(
        url=doc.url,
        title=vector(title),
        body=vector(text),
        names=weighted(Counter(_run_names(runs))),
        core=core_names(runs, lowercase),
        name_forms=name_forms(runs),
        numbers=numbers(text, published),
        quotes=quote_shingles(text),
        shingles=frozenset(_shingles(_lower_words(text))),
        published=published,
        is_article=doc.is_article,
        words=len(text.split()),
    )
