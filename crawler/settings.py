"""Scrapy settings for storycrawl: a polite crawler that archives everything it fetches."""

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
}
EXTENSIONS = {
    "crawler.capture.WarcCapture": 100,
    # Crawl-delay and the robots.txt `Sitemap:` lines (after AutoThrottle, at 0).
    "crawler.discovery.robots.RobotsExtras": 200,
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
STORYCRAWL_DB_BATCH = 50
STORYCRAWL_EXTRACT_WORKERS = 0  # 0: one per CPU core
STORYCRAWL_ALLOW_PRIVATE = False
STORYCRAWL_DEDUP = True  # an identical payload archived before becomes a revisit record
# False: archive only (WARC and page rows); pages other than the seeds are not extracted or
# judged, as when archiving whole sections; `storycrawl reextract` can judge them later.
STORYCRAWL_EXTRACT = True
STORYCRAWL_NAMED_HOSTS = []
STORYCRAWL_LINK_FLOOR = 0.05
# The same-story judge's threshold of best F1 on held-out training stories: the shipped
# model's (crawler/judge_data/model.json); tests check that the two agree.
STORYCRAWL_THRESHOLD = 0.84
# The GDELT DOC 2.0 API, queried only by stories with `search = ["gdelt"]`.
STORYCRAWL_GDELT_URL = "https://api.gdeltproject.org/api/v2/doc/doc"

# A crawl shared by several workers (crawler.distributed): the Redis URL, the prefix of the
# crawl's keys (default: storycrawl:STORY), and how long a popped request stays leased to a
# worker that stopped renewing it (seconds) before another worker fetches it.
STORYCRAWL_FRONTIER = None
STORYCRAWL_REDIS_PREFIX = None
STORYCRAWL_REDIS_LEASE = 60.0
