"""Scrapy settings for storycrawl: a polite crawler that archives everything it fetches."""

from archive.coding import DEFAULT_LIMIT
from crawler.config import user_agent

BOT_NAME = "storycrawl"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# An honest User-Agent: set STORYCRAWL_CONTACT (a URL or e-mail) so site owners can reach you.
USER_AGENT = user_agent()
STORYCRAWL_CONTACT = ""

ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "storycrawl"

# Politeness: at most two connections per site, a delay AutoThrottle adapts to the server.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy starts this many asyncio tasks for every response, to process its output in
# parallel; ours is a page record and dozens of requests and frontier notes, each a few
# microseconds of work, and the default of 100 made task creation a tenth of the crawl.
CONCURRENT_ITEMS = 8
# Responses a spider holds at once, by body size (Scrapy's default is 5 MB): ours wait for
# an extraction worker, and a dozen pages keep the workers busy; more only hold memory.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Size and time limits: news pages are rarely over a few MB; anything larger is not one.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
# A connection lost mid-body still gives a response (flagged dataloss), which is archived
# with WARC-Truncated: disconnect rather than lost.
DOWNLOAD_FAIL_ON_DATALOSS = False
DEPTH_LIMIT = 6

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # Before RobotsTxtMiddleware (100): not even robots.txt is fetched from a refused host.
    "crawler.guard.FetchGuard": 50,
    "crawler.guard.KnownRedirects": 60,
    # robots.txt answering 5xx or not at all forbids its site (RFC 9309); Scrapy's allows.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.discovery.robots.RobotsTxtFailClosed": 100,
    # Decoding never past STORYCRAWL_MAX_DECODED_SIZE: Scrapy's would inflate a gzip bomb
    # whole, since the capture lifts its limit (see crawler.decompression).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.decompression.BoundedDecompression": 590,
    # Before RobotsTxtMiddleware too: a page an interrupted crawl archived and did not store
    # is answered from its WARC record, not fetched again, robots.txt included.
    "crawler.replay.WarcReplay": 70,
    # Last on a response's way back: a web archive's answer gets its original URL once the
    # archive's own redirects are followed (see crawler.archived).
    "crawler.archived.ArchivedResponses": 40,
}
SPIDER_MIDDLEWARES = {
    # Next to the engine, after DepthMiddleware (900): a page is stored with the links that
    # are really scheduled.
    "crawler.units.PageUnits": 25,
}
# The Wayback Machine asks for no more than about 15 requests a minute from one client
# (its rate limiting answers 429 and blocks beyond that): one connection, 4 s apart.
DOWNLOAD_SLOTS = {"web.archive.org": {"concurrency": 1, "delay": 4.0}}
EXTENSIONS = {
    "crawler.capture.WarcCapture": 100,
    # Crawl-delay and the robots.txt `Sitemap:` lines (after AutoThrottle, at 0).
    "crawler.discovery.robots.RobotsExtras": 200,
    "crawler.progress.CrawlProgress": 500,
    "crawler.logs.JsonLogs": 0,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 300,
}

# storycrawl's own settings (see crawler.config.Config).
STORYCRAWL_DATA_DIR = "storycrawl-data"
STORYCRAWL_DB = None  # any SQLAlchemy URL; default: SQLite in STORYCRAWL_DATA_DIR
STORYCRAWL_WARC_DIR = None  # default: STORYCRAWL_DATA_DIR/warc
STORYCRAWL_WARC_PREFIX = "storycrawl"
STORYCRAWL_WARC_MAX_SIZE = 1_000_000_000
# A body decoding (gzip, deflate, zstd, br) past this is cut there and archived truncated.
STORYCRAWL_MAX_DECODED_SIZE = DEFAULT_LIMIT
STORYCRAWL_DB_BATCH = 50
STORYCRAWL_EXTRACT_WORKERS = 0  # 0: one per CPU core
STORYCRAWL_ALLOW_PRIVATE = False
STORYCRAWL_DEDUP = True  # an identical payload archived before becomes a revisit record
# False: archive only (WARC and page rows); pages other than the seeds are not extracted or
# judged, as when archiving whole sections; `storycrawl reextract` can judge them later.
STORYCRAWL_EXTRACT = True
STORYCRAWL_NAMED_SITES = []  # archive.urls.site_of of every URL the user named
# Accepted articles are archived whole: the images, stylesheets, scripts and fonts their
# HTML names (and their stylesheets' fonts and images) are fetched too, under the same
# robots.txt and size rules, so that they replay as readers saw them. False: HTML only.
STORYCRAWL_REQUISITES = True
STORYCRAWL_LINK_FLOOR = 0.05
# The same-story judge's threshold of best F1 on real news (development topics): the shipped
# model's (archive/judge/data/model.json); tests check that the two agree.
# Progress while crawling, on standard output: auto (redrawn in place on a terminal, a
# line every STORYCRAWL_PROGRESS_INTERVAL seconds otherwise), live, lines or off.
STORYCRAWL_PROGRESS = "auto"
STORYCRAWL_PROGRESS_INTERVAL = 5.0
# text (Scrapy's LOG_FORMAT) or json: one object a line, for log collectors.
STORYCRAWL_LOG_FORMAT = "text"
STORYCRAWL_THRESHOLD = 0.62
# The GDELT DOC 2.0 API, queried only by stories with `search = ["gdelt"]`.
STORYCRAWL_GDELT_URL = "https://api.gdeltproject.org/api/v2/doc/doc"

# A crawl shared by several workers (crawler.distributed): the Redis URL, the prefix of the
# crawl's keys (default: storycrawl:STORY), and how long a popped request stays leased to a
# worker that stopped renewing it (seconds) before another worker fetches it.
STORYCRAWL_FRONTIER = None
STORYCRAWL_REDIS_PREFIX = None
STORYCRAWL_REDIS_LEASE = 60.0
