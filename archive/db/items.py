"""The values a crawl and a re-extraction hand to storage, and read back from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from archive.extract import Document
from archive.warc import Original, WarcRef


@dataclass(frozen=True)
class ArchivedFrom:
    """The web archive capture a page was fetched from, when not from the live web."""

    archive: str  # as the story names it: "wayback", or a CDX server's URL
    archive_url: str  # the replay URL that answered
    archived_at: datetime  # when the archive captured the page (naive UTC)

    @property
    def timestamp(self) -> str:
        return f"{self.archived_at:%Y%m%d%H%M%S}"


@dataclass
class PageRecord:
    """One fetched page with what was made of it: the item a crawl hands to storage."""

    url: str
    canonical_url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    warc: WarcRef
    document: Document | None = None
    score: float | None = None
    is_match: bool = False
    reasons: dict = field(default_factory=dict)
    duplicate_of: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    state: str = "fetched"  # what its candidate became: accepted, rejected, …
    kind: str = "page"  # how it was requested: seed, page, feed, sitemap or search
    #: The links found on it, queued or noted: stored with the page, in its transaction.
    links: list[Queued | Noted] = field(default_factory=list)
    archived: ArchivedFrom | None = None  # fetched from a web archive: which capture


@dataclass(frozen=True)
class Queued:
    """A URL the crawl has scheduled: written to the frontier so a stopped crawl resumes."""

    canonical_url: str
    url: str
    kind: str
    priority: int
    depth: int
    score: float | None = None  # the link's pre-fetch score
    features: dict | None = None  # what it was scored on: anchor or entry title, parent


#: What can become of a URL a story's crawl came across. Only "queued" is resumed.
CANDIDATE_STATES = (
    "discovered",  # seen in a link, feed or sitemap; scored too low to fetch
    "queued",
    "fetched",  # answered; not an article (a listing, feed, sitemap) or not judged
    "accepted",  # judged the same story
    "rejected",  # judged another story, or not an article
    "duplicate",  # the same story, a near-copy of an earlier article (see duplicate_of)
    "out_of_window",  # dated outside the story's window: by its entry or by the page
    "blocked_by_robots",
    "redirected",  # to the URL in features["to"]
    "failed",  # an HTTP error or a network failure
    "over_budget",  # the story's or the site's page budget was spent
    "trap",  # a crawler-trap rule refused it (features["rule"])
)


@dataclass(frozen=True)
class Decided:
    """A URL's new state, with the score and features that decided it. With ``url`` (and
    ``kind``), a URL the frontier never queued gets a row: a redirect's target."""

    canonical_url: str
    state: str
    score: float | None = None
    features: dict | None = None
    url: str | None = None
    kind: str = "page"


@dataclass(frozen=True)
class Noted:
    """A URL the crawl saw and chose not to fetch, and why. Noted once: it never overwrites
    what an earlier run or an earlier step of this one recorded for the URL."""

    canonical_url: str
    url: str
    kind: str
    state: str
    score: float | None = None
    features: dict | None = None


@dataclass(frozen=True)
class Archived:
    """The newest capture of a URL in a story's archive, as an incremental run sees it."""

    url: str
    fetched_at: datetime
    crawl_id: int
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    is_article: bool
    original: Original | None  # its newest full response: what a 304's revisit refers to


BatchItem = PageRecord | Queued | Decided | Noted


@dataclass(frozen=True)
class RunFigures:
    pages_fetched: int
    not_modified: int
    new_pages: int
    changed_pages: int
    new_matches: int


@dataclass(frozen=True)
class Judged:
    """A document made from a stored page, with the story's verdict on it (if judged)."""

    page_id: int | None
    document: Document
    score: float | None = None
    is_match: bool = False
    reasons: dict = field(default_factory=dict)
    duplicate_of: str | None = None


@dataclass(frozen=True)
class StoredPage:
    id: int
    url: str
    warc_file: str
    warc_offset: int
    warc_type: str


@dataclass(frozen=True)
class ImportedFile:
    """A collection file a story imported, and what was found in it."""

    path: str
    size: int
    modified_at: datetime
    records: int
    pages: int
    skipped: dict[str, int]
