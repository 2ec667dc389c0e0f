"""Throughput benchmark: pages/s, CPU per page and memory of a broad crawl, against plain Scrapy.

    python -m bench.throughput [--pages 3000] [--out DIR] [--rss-trace] [--profile FILE]

(with the project's Python: `.venv/bin/python bench/throughput.py`, or the venv activated)

1. Generates a synthetic, link-dense news site (deterministic for a given --seed): PAGES
   article pages of 40-100 KB (navigation, sidebars and footers with ~45 internal links,
   several paragraphs of English-like text, og:type article, a date), a home page and ten
   section pages; each page also stored gzip-compressed, served as Content-Encoding: gzip.
2. Serves it on 127.0.0.1: nginx when installed (its own config in the work directory,
   `daemon off`, a port tried from a fixed range until nginx does not answer "Address
   already in use"), else Twisted in a child process on a port the kernel picks.
3. Crawls it, one crawl after the other, each in its own process:
   (1) a minimal plain-Scrapy spider that follows every link with a seen-set (the lean
       reference: no WARC, no extraction, no database);
   (2) `storycrawl crawl --broad` archiving, extracting and storing every page;
   (3) `storycrawl crawl --broad -s STORYCRAWL_EXTRACT=False`: archive only.
   Politeness is off for loopback (no delay, no AutoThrottle, no robots.txt, 16 connections).
4. Prints for each crawl: pages fetched (server log, crawl stats, database), wall seconds,
   pages/s end to end and over the fetch window (first to last request the server saw),
   CPU per page of the crawler process and of its extraction workers (the exact total from
   wait4: the crawler and every child it reaped), peak RSS of the crawler and the sum of
   the workers' peaks; and the ratios of (2) and (3) to (1). --rss-trace samples the
   crawler's RSS every second against the server-side request count and prints it at
   1,000, 5,000 and 20,000 pages (give --pages 20000 to see flatness over a long crawl).
   Each crawl also says how busy the whole machine was: other load skews the numbers.
   --profile FILE attaches py-spy (if installed) to (2), and to (3) as FILE-archive-only.
   Other options: --seed N, --server nginx|twisted, --no-gzip, --runs 1,2, --timeout S.

Everything stays on 127.0.0.1. Every server and crawl has a time limit and dies with this
script; the work directory is a temporary one, removed at the end, unless --out names one
(then kept, with the site reused by later runs, logs, the crawls' data and results.json).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gzip
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    import psutil
except ImportError:  # the /proc fallback below does the same on Linux
    psutil = None

GENERATOR = "storycrawl-bench-site/1"
SECTIONS = ("world", "politics", "business", "technology", "science")
SECTIONS += ("health", "sport", "culture", "opinion", "climate")
SITE_NAME = "The Loopback Herald"
#: nginx listens on a port tried from this range (below the kernel's ephemeral ports).
PORT_RANGE = (20_000, 32_000)
PORT_TRIES = 40
#: Page counts at which --rss-trace reports the crawler's memory.
CHECKPOINTS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
SAMPLE_EVERY = 0.25  # seconds between process-tree samples
MB = 1024 * 1024


# -- the synthetic site ---------------------------------------------------------------------


def _vocabulary() -> tuple[list[str], list[float]]:
    """English words with cumulative weights following their real frequencies."""
    from wordfreq import top_n_list, word_frequency

    words = [w for w in top_n_list("en", 6000) if w.isalpha() and w.isascii() and len(w) > 1]
    words = words[:5000]
    cumulative, total = [], 0.0
    for word in words:
        total += word_frequency(word, "en") ** 0.85  # a little flatter: more varied text
        cumulative.append(total)
    return words, cumulative


@dataclass
class SiteInfo:
    pages: int
    articles: int
    html_bytes: int
    gzip_bytes: int
    smallest: int
    largest: int
    links_per_page: float
    seconds: float
    seed: int
    reused: bool = False


class SiteGenerator:
    """Renders every page of the site from one seeded RNG: same arguments, same bytes."""

    def __init__(self, articles: int, seed: int):
        self.rng = random.Random(seed)
        self.n = articles
        words, cumulative = _vocabulary()
        self.words = words
        rng = self.rng
        self.sentences = []
        for _ in range(20_000):
            picked = rng.choices(words, cum_weights=cumulative, k=rng.randint(7, 30))
            if rng.random() < 0.5:
                picked.insert(rng.randrange(len(picked)), rng.choice(words).capitalize())
            if rng.random() < 0.15:
                picked.insert(rng.randrange(len(picked)), str(rng.randint(2, 2018)))
            if len(picked) > 10 and rng.random() < 0.6:
                picked[rng.randrange(3, len(picked) - 3)] += ","
            self.sentences.append(" ".join(picked).capitalize() + rng.choice(".....?!"))
        rare = words[800:]
        self.titles, self.paths, self.sections, self.dates = [], [], [], []
        start = datetime(2018, 1, 1, 6, 0)
        for i in range(articles):
            title_words = [rng.choice(rare) for _ in range(rng.randint(6, 11))]
            title = " ".join(title_words).capitalize()
            section = SECTIONS[i % len(SECTIONS)]
            moment = start + timedelta(minutes=i * 525_600 // max(articles, 1))
            moment += timedelta(minutes=rng.randint(0, 59))
            slug = "-".join(title_words[:7])
            self.titles.append(title)
            self.sections.append(section)
            self.dates.append(moment)
            self.paths.append(f"/{section}/{moment:%Y/%m/%d}/{slug}-{i}.html")
        self.authors = [
            f"{rng.choice(rare).capitalize()} {rng.choice(rare).capitalize()}" for _ in range(60)
        ]
        self.css = self._css()
        self.blob = self._blob()

    # -- pieces ---------------------------------------------------------------------------

    def _css(self) -> str:
        rng = self.rng
        rules = []
        for i in range(160):
            name = f".{rng.choice(self.words)}-{rng.choice(self.words)}-{i}"
            props = ";".join(
                f"{rng.choice(('margin', 'padding', 'font-size', 'line-height', 'width'))}:"
                f"{rng.randint(0, 48)}px"
                for _ in range(rng.randint(2, 5))
            )
            rules.append(f"{name}{{{props}}}")
        return "\n".join(rules)

    def _blob(self) -> str:
        """Front-end state as news sites inline it: teaser JSON, ~400 KB to slice from."""
        rng = self.rng
        entries = []
        for _ in range(1200):
            i = rng.randrange(self.n)
            entries.append(
                json.dumps(
                    {
                        "id": i,
                        "headline": self.titles[i],
                        "teaser": rng.choice(self.sentences),
                        "url": self.paths[i],
                        "image": f"/static/img/{i}.jpg",
                        "tracking": {"slot": rng.randint(1, 40), "ab": rng.choice("ABCD")},
                    }
                )
            )
        return ",".join(entries).replace("<", "\\u003c")

    def _paragraphs(self, budget: int, links: list[int]) -> Iterator[str]:
        rng = self.rng
        written = 0
        index = 0
        while written < budget:
            sentences = [rng.choice(self.sentences) for _ in range(rng.randint(2, 7))]
            if links and index % 3 == 1:
                target = links.pop()
                at = rng.randrange(len(sentences))
                sentences[at] += (
                    f' <a href="{self.paths[target]}">{self.titles[target].lower()}</a>.'
                )
            text = " ".join(sentences)
            if index and index % 6 == 0:
                text = f"</p>\n<h2>{rng.choice(self.sentences)[:60].rstrip(' ,.?!')}</h2>\n<p>" + (
                    text
                )
            if index == 4:
                yield f"<blockquote><p>{rng.choice(self.sentences)}</p></blockquote>"
            written += len(text)
            index += 1
            yield f"<p>{text}</p>"

    def _nav(self, current: str | None) -> str:
        items = ['<li><a class="nav-home" href="/">Home</a></li>']
        for section in SECTIONS:
            active = ' class="active"' if section == current else ""
            items.append(f'<li{active}><a href="/{section}/">{section.capitalize()}</a></li>')
        return (
            '<header class="site-header"><div class="masthead">'
            f'<a class="logo" href="/"><svg width="120" height="24" viewBox="0 0 120 24">'
            f'<path d="M0 0h120v24H0z" fill="#111"/></svg><span>{SITE_NAME}</span></a>'
            '<button class="menu-toggle" aria-label="Menu">&#9776;</button>'
            '<form class="search" role="search"><input type="search" name="q" '
            'placeholder="Search"></form></div>\n'
            f'<nav class="main-nav" aria-label="Sections"><ul>{"".join(items)}</ul></nav>'
            "</header>\n"
        )

    def _footer(self) -> str:
        items = "".join(f'<li><a href="/{s}/">{s.capitalize()} news</a></li>' for s in SECTIONS)
        return (
            f'<footer class="site-footer"><ul class="footer-sections">{items}</ul>'
            '<p class="legal">&copy; 2018 The Loopback Herald. All rights reserved. '
            "Terms of use. Privacy policy. Cookie settings.</p></footer>\n"
        )

    def _teasers(self, ids: list[int], css_class: str, with_summary: bool) -> str:
        rng = self.rng
        out = []
        for i in ids:
            summary = f"<p>{rng.choice(self.sentences)}</p>" if with_summary else ""
            out.append(
                f'<li class="{css_class}"><a href="{self.paths[i]}">'
                f'<img src="/static/thumbs/{i}.jpg" alt="" loading="lazy" width="120" '
                f'height="80"><span class="headline">{self.titles[i]}</span></a>{summary}</li>'
            )
        return "".join(out)

    def _head(self, title: str, og_type: str, description: str, extra: str) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title} | {SITE_NAME}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="description" content="{description}">\n'
            f'<meta property="og:type" content="{og_type}">\n'
            f'<meta property="og:title" content="{title}">\n'
            f'<meta property="og:site_name" content="{SITE_NAME}">\n'
            f"{extra}<style>\n{self.css}\n</style>\n"
        )

    # -- pages ----------------------------------------------------------------------------

    def article(self, i: int) -> tuple[str, int]:
        """The article page and its number of distinct links (home, sections, articles)."""
        rng = self.rng
        n = self.n
        size = rng.randint(40_000, 100_000)
        nxt, prev = (i + 1) % n, (i - 1) % n
        others = [j for j in rng.sample(range(n), min(n, 36)) if j not in (i, nxt, prev)]
        inline, related, most_read, more = others[:5], others[5:15], others[15:25], others[25:31]
        more = [nxt, prev, *more]
        date = self.dates[i]
        iso = date.strftime("%Y-%m-%dT%H:%M:00Z")
        author = self.authors[i % len(self.authors)]
        section = self.sections[i]
        title = self.titles[i]
        description = rng.choice(self.sentences).replace('"', "")
        extra = (
            f'<meta property="article:published_time" content="{iso}">\n'
            f'<meta property="article:section" content="{section.capitalize()}">\n'
            f'<meta name="author" content="{author}">\n'
        )
        body = "\n".join(self._paragraphs(int(size * rng.uniform(0.22, 0.4)), list(inline)))
        ld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": title,
                "datePublished": iso,
                "author": {"@type": "Person", "name": author},
                "publisher": {"@type": "Organization", "name": SITE_NAME},
            }
        )
        page = [
            self._head(title, "article", description, extra),
            f'<script type="application/ld+json">{ld}</script>\n</head>\n',
            f'<body class="article section-{section}">\n',
            self._nav(section),
            f'<div class="breaking"><span>Breaking</span> <a href="{self.paths[nxt]}">'
            f"{self.titles[nxt]}</a></div>\n",
            '<main class="layout"><article class="story">\n',
            f'<p class="kicker"><a href="/{section}/">{section.capitalize()}</a></p>\n',
            f"<h1>{title}</h1>\n",
            f'<p class="standfirst">{description}</p>\n',
            f'<p class="byline">By <span class="author">{author}</span> '
            f'<time datetime="{iso}">{date:%B} {date.day}, {date:%Y}</time></p>\n',
            f'<figure><img src="/static/img/{i}.jpg" alt="{title}" width="960" height="540">'
            f"<figcaption>{rng.choice(self.sentences)}</figcaption></figure>\n",
            f'<div class="story-body">\n{body}\n</div>\n',
            '<div class="share"><button data-share="mail">Mail</button>'
            '<button data-share="print">Print</button></div>\n',
            '<aside class="related"><h2>Related coverage</h2><ul>',
            self._teasers(related, "related-item", True),
            "</ul></aside>\n</article>\n",
            '<aside class="sidebar"><section class="most-read"><h2>Most read</h2><ol>',
            self._teasers(most_read, "most-read-item", False),
            f'</ol></section><section class="more"><h2>More {section}</h2><ul>',
            self._teasers(more, "more-item", False),
            "</ul></section>",
            '<div class="ad-slot" data-slot="sidebar-1" data-sizes="300x250,300x600"></div>',
            "</aside></main>\n",
            self._footer(),
        ]
        html = "".join(page)
        room = size - len(html) - 80
        if room > 0:
            start = rng.randrange(max(1, len(self.blob) - room))
            state = self.blob[start : start + room]
            html += f"<script>window.__STATE__ = [{state}];</script>\n"
        html += "</body>\n</html>\n"
        return html, 11 + len({*inline, *related, *most_read, *more})

    def listing(self, section: str | None) -> tuple[str, int]:
        """The home page (section None) or a section front: its latest articles."""
        ids = [i for i in range(self.n) if section is None or self.sections[i] == section]
        latest = ids[::-1][:60]
        title = section.capitalize() if section else f"{SITE_NAME}: news"
        page = [
            self._head(title, "website", f"The latest {section or 'news'}.", ""),
            f'</head>\n<body class="front">\n{self._nav(section)}',
            f'<main class="front"><h1>{title}</h1>\n<ul class="river">',
            self._teasers(latest, "river-item", True),
            "</ul></main>\n",
            self._footer(),
            "</body>\n</html>\n",
        ]
        return "".join(page), 11 + len(latest)


def _write(path: Path, html: str) -> tuple[int, int]:
    """The page and its gzip-compressed copy; their sizes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = html.encode("utf-8")
    path.write_bytes(data)
    packed = gzip.compress(data, compresslevel=6, mtime=0)
    path.with_name(path.name + ".gz").write_bytes(packed)
    return len(data), len(packed)


def generate_site(root: Path, articles: int, seed: int) -> SiteInfo:
    """The site under ``root`` (reused when a complete one with the same parameters is
    there): every page as .html and .html.gz, for nginx's gzip_static."""
    manifest = root / "manifest.json"
    wanted = {"generator": GENERATOR, "articles": articles, "seed": seed}
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if {k: info.get(k) for k in wanted} == wanted:
            fields = {k: info[k] for k in SiteInfo.__dataclass_fields__ if k != "reused"}
            return SiteInfo(**fields, reused=True)
    if root.exists():
        shutil.rmtree(root)
    started = time.monotonic()
    generator = SiteGenerator(articles, seed)
    sizes, packed, links = [], 0, 0
    pages = [(root / "index.html", generator.listing(None))]
    pages += [(root / s / "index.html", generator.listing(s)) for s in SECTIONS]
    for path, (html, count) in pages:
        plain, gz = _write(path, html)
        sizes.append(plain)
        packed += gz
        links += count
    for i in range(articles):
        html, count = generator.article(i)
        plain, gz = _write(root / generator.paths[i].lstrip("/"), html)
        sizes.append(plain)
        packed += gz
        links += count
    for directory in (root, *root.rglob("*")):
        if directory.is_dir():
            directory.chmod(0o755)  # nginx's workers run as an unprivileged user
    info = SiteInfo(
        pages=len(sizes),
        articles=articles,
        html_bytes=sum(sizes),
        gzip_bytes=packed,
        smallest=min(sizes),
        largest=max(sizes),
        links_per_page=links / len(sizes),
        seconds=time.monotonic() - started,
        seed=seed,
    )
    record = asdict(info)
    record.pop("reused")
    manifest.write_text(json.dumps({**wanted, **record, "seed_path": generator.paths[0]}))
    return info


def seed_path(root: Path) -> str:
    return json.loads((root / "manifest.json").read_text())["seed_path"]


# -- processes: time limits, dying with this script ------------------------------------


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM when this script dies, however it dies (Linux only)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


#: Every process group this script started: ended, if still running, when it ends.
STARTED: list[subprocess.Popen] = []


def spawn(command: list[str], log: Path, cwd: Path, limit: float | None) -> subprocess.Popen:
    """A child in its own process group that gets SIGTERM when this script dies, however it
    dies. With a limit it runs under `timeout` (coreutils), so that it stops by itself;
    crawls run without (they must be this script's own children to be measured): the
    measuring loop enforces their limit, and Scrapy's CLOSESPIDER_TIMEOUT too."""
    timeout = shutil.which("timeout")
    if limit and timeout:
        command = [timeout, "-k", "10", f"{int(limit)}", *command]
    with open(log, "ab") as output:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # no thread runs in this script
        )
    STARTED.append(proc)
    return proc


def end_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child this script started, and its process group: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


# -- servers ----------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    description: str
    base_url: str
    access_log: Path
    proc: subprocess.Popen  # ended with the other children when the script ends


def _ours(base_url: str, token: str) -> bool:
    """Whether the server at base_url is the one serving our site (not another program)."""
    try:
        with urllib.request.urlopen(base_url + "bench-token.txt", timeout=2) as answer:
            return answer.read().decode().strip() == token
    except OSError:
        return False


def _wait_ready(proc: subprocess.Popen, ready, limit: float = 15.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.05)
    return False


NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$msec $status $body_bytes_sent $request_uri';
    access_log {dir}/access.log bench;
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    gzip_static {gzip};
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        index index.html;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def start_nginx(nginx: str, root: Path, work: Path, gzip_on: bool, limit: float) -> Server:
    """nginx on a port of PORT_RANGE: one taken (nginx says "Address already in use") moves
    on to the next. The port is never probed by binding it here first."""
    directory = work / "nginx"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tmp").mkdir(exist_ok=True)
    token = (root / "bench-token.txt").read_text().strip()
    version_line = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    span = PORT_RANGE[1] - PORT_RANGE[0]
    first = PORT_RANGE[0] + (os.getpid() * 7919) % span
    refusals = []
    for attempt in range(PORT_TRIES):
        port = PORT_RANGE[0] + (first - PORT_RANGE[0] + attempt * 101) % span
        conf = directory / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(dir=directory, port=port, root=root, gzip="on" if gzip_on else "off")
        )
        stderr = directory / f"stderr-{port}.log"
        proc = spawn(
            [nginx, "-e", "stderr", "-p", str(directory), "-c", str(conf)], stderr, directory, limit
        )
        base = f"http://127.0.0.1:{port}/"
        if _wait_ready(proc, lambda base=base: _ours(base, token)):
            text = f"{version_line.split(': ', 1)[-1]} on 127.0.0.1:{port}, 1 worker"
            return Server("nginx", text, base, directory / "access.log", proc)
        end_group(proc)
        said = stderr.read_text(errors="replace")
        if "Address already in use" not in said:
            raise RuntimeError(f"nginx did not start on port {port}: {said.strip()[-500:]}")
        refusals.append(port)
    raise RuntimeError(f"nginx found no free port after {len(refusals)} tries: {refusals}")


def start_twisted(root: Path, work: Path, gzip_on: bool, limit: float) -> Server:
    """The fallback: Twisted in a child process, on a port the kernel picks (port 0)."""
    directory = work / "twisted"
    directory.mkdir(parents=True, exist_ok=True)
    access_log = directory / "access.log"
    port_file = directory / "port"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "_serve",
        str(root),
        str(access_log),
        str(port_file),
        "1" if gzip_on else "0",
        str(int(limit)),
    ]
    proc = spawn(command, directory / "server.log", directory, limit + 30)
    token = (root / "bench-token.txt").read_text().strip()

    def ready() -> bool:
        text = port_file.read_text().strip() if port_file.exists() else ""
        return text.isdigit() and _ours(f"http://127.0.0.1:{text}/", token)

    if not _wait_ready(proc, ready, 30):
        end_group(proc)
        raise RuntimeError(f"the Twisted server did not start: see {directory / 'server.log'}")
    port = int(port_file.read_text())
    text = f"Twisted {version('twisted')} (Python, one process) on 127.0.0.1:{port}"
    return Server("twisted", text, f"http://127.0.0.1:{port}/", access_log, proc)


def _serve_main(argv: list[str]) -> None:
    """Child mode: serve a site directory as nginx would (gzip_static, directory index)."""
    root, access_log, port_file, gzip_on, limit = argv
    from twisted.internet import reactor
    from twisted.web import resource, server

    base = Path(root).resolve()
    log = open(access_log, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    class Files(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            path = request.path.decode("utf-8", "replace")
            target = (base / path.lstrip("/")).resolve()
            if path.endswith("/"):
                target = target / "index.html"
            body, status = b"not found\n", 404
            if target.is_relative_to(base) and target.is_file():
                status = 200
                packed = target.with_name(target.name + ".gz")
                accepts = request.getHeader("accept-encoding") or ""
                if gzip_on == "1" and "gzip" in accepts and packed.is_file():
                    body = packed.read_bytes()
                    request.setHeader("Content-Encoding", "gzip")
                else:
                    body = target.read_bytes()
                kind = "text/plain" if target.suffix == ".txt" else "text/html"
                request.setHeader("Content-Type", f"{kind}; charset=utf-8")
            request.setResponseCode(status)
            log.write(f"{time.time():.3f} {status} {len(body)} {path}\n")
            return body

    factory = server.Site(Files())
    factory.log = lambda request: None  # the access log above is the one we count
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    Path(port_file).write_text(str(listening.getHost().port))
    reactor.callLater(float(limit), reactor.stop)
    reactor.run()


class AccessLog:
    """The server's access log (`msec status bytes uri`), read as it grows."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.count = 0
        self.statuses: dict[str, int] = {}
        self.first = self.last = 0.0
        self.bytes = 0
        self._tail = b""

    def poll(self) -> int:
        if not self.path.exists():
            return self.count
        with open(self.path, "rb") as stream:
            stream.seek(self.offset)
            data = stream.read()
        self.offset += len(data)
        lines = (self._tail + data).split(b"\n")
        self._tail = lines.pop()
        for line in lines:
            parts = line.split(b" ", 3)
            if len(parts) < 4:
                continue
            moment = float(parts[0])
            self.first = self.first or moment
            self.last = moment
            status = parts[1].decode()
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.bytes += int(parts[2])
            self.count += 1
        return self.count


# -- measuring a process tree ------------------------------------------------------------


class Probe:
    """CPU, RSS and descendants of a process: psutil when installed, else /proc."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self.name = f"psutil {psutil.__version__}" if psutil else "/proc (psutil not installed)"

    def descendants(self, pid: int) -> list[int]:
        if psutil:
            try:
                return [p.pid for p in psutil.Process(pid).children(recursive=True)]
            except psutil.Error:
                return []
        parents: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = self._stat(int(entry.name))
                if stat:
                    parents.setdefault(int(stat[1]), []).append(int(entry.name))
        found, todo = [], [pid]
        while todo:
            children = parents.get(todo.pop(), [])
            found += children
            todo += children
        return found

    def _stat(self, pid: int) -> list[str] | None:
        """Fields of /proc/PID/stat from the state on (state, ppid, ...)."""
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text.rsplit(")", 1)[1].split()

    def cpu(self, pid: int) -> float | None:
        """User + system seconds of the process itself (its reaped children not included)."""
        if psutil:
            try:
                times = psutil.Process(pid).cpu_times()
                return times.user + times.system
            except psutil.Error:
                return None
        stat = self._stat(pid)
        return (int(stat[11]) + int(stat[12])) / self.tick if stat else None

    def rss(self, pid: int) -> tuple[int, int]:
        """Current RSS and peak RSS (the kernel's VmHWM when /proc tells, else current)."""
        current = 0
        if psutil:
            with contextlib.suppress(psutil.Error):
                current = psutil.Process(pid).memory_info().rss
        else:
            with contextlib.suppress(OSError, ValueError, IndexError):
                current = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.page
        peak = current
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        return current, peak

    def cmdline(self, pid: int) -> str:
        if psutil:
            try:
                return " ".join(psutil.Process(pid).cmdline())
            except psutil.Error:
                return ""
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""


def _is_worker(cmdline: str) -> bool:
    """An extraction worker: a multiprocessing child that is not the resource tracker."""
    return "multiprocessing" in cmdline and "resource_tracker" not in cmdline


# -- one measured crawl -----------------------------------------------------------------


@dataclass
class RunResult:
    name: str
    label: str
    status: int
    server_pages: int
    server_statuses: dict[str, int]
    crawl_pages: int | None
    wall: float
    window: float
    cpu_total: float
    cpu_crawler: float
    workers: int
    peak_crawler: int
    peak_workers: int
    server_cpu: float
    machine_busy: float | None = None  # CPU seconds all processes used during the run
    harness_cpu: float = 0.0  # CPU seconds this script used measuring it
    db_pages: int | None = None
    db_documents: int | None = None
    warc_bytes: int | None = None
    finish_reason: str | None = None
    trace: list[tuple[float, int, int, int]] = field(default_factory=list)
    note: str = ""
    log: Path | None = None  # the crawl's own output

    @property
    def rate(self) -> float:
        return self.server_pages / self.wall if self.wall else 0.0

    @property
    def window_rate(self) -> float:
        return self.server_pages / self.window if self.window > 0.01 else 0.0

    def per_page(self, seconds: float) -> float:
        return 1000 * seconds / max(self.server_pages, 1)


def measure(
    name: str,
    label: str,
    command: list[str],
    run_dir: Path,
    server: Server,
    probe: Probe,
    limit: float,
    trace: bool,
    profile: Path | None = None,
) -> RunResult:
    """Run one crawl to its end and measure it from the outside."""
    log = AccessLog(server.access_log)
    server_pids = [server.proc.pid, *probe.descendants(server.proc.pid)]
    server_before = sum(probe.cpu(p) or 0.0 for p in server_pids)
    machine_before = machine_cpu()
    harness_before = _own_cpu()
    started = time.monotonic()
    proc = spawn(command, run_dir / "crawl.log", run_dir, None)
    crawler = proc.pid
    peaks: dict[int, int] = {}
    worker_pids: set[int] = set()
    samples: list[tuple[float, int, int, int]] = []
    spy = None
    crawler_cpu = None
    reaped = None
    next_trace = 0.0
    note = ""
    while True:
        now = time.monotonic() - started
        if profile and not spy and now > 1.0:  # attach once the interpreter is up
            spy = _start_profiler(profile, crawler, run_dir)
            profile = None
        current, peak = probe.rss(crawler)
        peaks[crawler] = max(peaks.get(crawler, 0), peak)
        workers_rss = 0
        for pid in probe.descendants(crawler):
            if pid not in worker_pids and _is_worker(probe.cmdline(pid)):
                worker_pids.add(pid)
            if pid in worker_pids:
                rss, peak = probe.rss(pid)
                peaks[pid] = max(peaks.get(pid, 0), peak)
                workers_rss += rss
        if trace and now >= next_trace and current:
            samples.append((round(now, 1), log.poll(), current, workers_rss))
            next_trace += 1.0
        crawler_cpu = probe.cpu(crawler) or crawler_cpu
        exited = _exited(crawler)
        if exited is None:  # no waitid: reap at once, the last sample's CPU stands
            got, status, usage = os.wait4(crawler, os.WNOHANG)
            if got:
                reaped = status, usage
                break
        elif exited:
            crawler_cpu = probe.cpu(crawler)  # a zombie still tells its own times
            break
        if now > limit + 60 and not note:
            note = f"stopped at the time limit ({limit:.0f} s)"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(crawler, signal.SIGTERM)
        elif now > limit + 90:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(crawler, signal.SIGKILL)
        time.sleep(SAMPLE_EVERY)
    status, usage = reaped or os.wait4(crawler, 0)[1:]
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if spy:
        _stop_profiler(spy)
    log.poll()
    server_after = sum(probe.cpu(p) or 0.0 for p in server_pids)
    machine_after = machine_cpu()
    harness = _own_cpu() - harness_before
    return RunResult(
        name=name,
        label=label,
        status=proc.returncode,
        server_pages=log.count,
        server_statuses=log.statuses,
        crawl_pages=None,
        wall=wall,
        window=max(log.last - log.first, 1e-3),
        cpu_total=usage.ru_utime + usage.ru_stime,
        cpu_crawler=crawler_cpu if crawler_cpu is not None else float("nan"),
        workers=len(worker_pids),
        peak_crawler=peaks.get(crawler, 0),
        peak_workers=sum(peaks[p] for p in worker_pids),
        server_cpu=server_after - server_before,
        machine_busy=machine_after - machine_before if machine_after is not None else None,
        harness_cpu=harness,
        trace=samples,
        note=note,
        log=run_dir / "crawl.log",
    )


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def machine_cpu() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    busy = sum(ticks[:8]) - idle  # up to steal; guest time is already in user
    return busy / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def _exited(pid: int) -> bool | None:
    """Whether a child of ours has exited, without reaping it (so that its /proc entry
    stays); None where waitid is missing."""
    if not hasattr(os, "waitid"):
        return None
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _start_profiler(output: Path, pid: int, run_dir: Path) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("    (py-spy not installed: no profile; `pip install py-spy`)")
        return None
    command = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--threads",
        "--subprocesses",
        "--rate",
        "100",
        "--nonblocking",
        "-o",
        str(output),
    ]
    with open(run_dir / "py-spy.log", "ab") as out:
        spy = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    STARTED.append(spy)
    return spy


def _stop_profiler(spy: subprocess.Popen) -> None:
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.terminate()
        spy.wait(10)


# -- the crawls -------------------------------------------------------------------------


def lean_command(start_urls: list[str], stats: Path, limit: float) -> list[str]:
    script = str(Path(__file__).resolve())
    return [sys.executable, script, "_lean", str(stats), str(int(limit)), *start_urls]


def _lean_main(argv: list[str]) -> None:
    """Child mode (1): plain Scrapy following every link of the site, with a seen-set."""
    stats_file, limit, *start_urls = argv
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import TextResponse

    class LeanSpider(Spider):
        name = "lean"

        def __init__(self, urls: list[str], **kwargs):
            super().__init__(**kwargs)
            self.start_urls = urls
            self.seen = set(urls)
            self.prefix = "/".join(urls[0].split("/", 3)[:3]) + "/"  # scheme://host:port/

        def parse(self, response):
            if not isinstance(response, TextResponse):
                return
            for href in response.xpath("//a/@href").getall():
                url = response.urljoin(href).partition("#")[0]
                if url.startswith(self.prefix) and url not in self.seen:
                    self.seen.add(url)
                    yield Request(url)

    process = CrawlerProcess(
        {
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": False,
            "AUTOTHROTTLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "DEPTH_LIMIT": 0,
            "CLOSESPIDER_TIMEOUT": int(limit),
        }
    )
    crawler = process.create_crawler(LeanSpider)
    process.crawl(crawler, urls=start_urls)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int | str)}
    Path(stats_file).write_text(json.dumps(stats))


def storycrawl_command(
    seed: str, site: str, data: Path, pages: int, limit: float, extra: list[str]
) -> list[str]:
    executable = Path(sys.executable).with_name("storycrawl")
    prefix = (
        [str(executable)]
        if executable.exists()
        else [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())"]
    )
    settings = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "CONCURRENT_REQUESTS": 16,
        "ROBOTSTXT_OBEY": 0,
        "CLOSESPIDER_TIMEOUT": int(limit),
    }
    args = [
        *prefix,
        "crawl",
        "--name",
        "bench",
        "--seed",
        seed,
        "--site",
        site,
        "--broad",
        "--max-pages",
        str(2 * pages + 100),
        "--max-pages-per-site",  # one site is the whole crawl here
        str(2 * pages + 100),
        "--max-depth",
        "1000",
        "--data",
        str(data),
    ]
    for name, value in settings.items():
        args += ["-s", f"{name}={value}"]
    for item in extra:
        args += ["-s", item]
    return args


def read_database(result: RunResult, data: Path) -> None:
    database = data / "storycrawl.db"
    if not database.exists():
        return
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        result.db_pages = db.execute("SELECT count(*) FROM pages").fetchone()[0]
        result.db_documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        row = db.execute("SELECT stats, finish_reason FROM crawls ORDER BY id DESC").fetchone()
    if row:
        stats = json.loads(row[0]) if row[0] else {}
        result.crawl_pages = stats.get("response_received_count")
        result.finish_reason = row[1]
    result.warc_bytes = sum(p.stat().st_size for p in (data / "warc").glob("*.warc.gz"))


# -- report -----------------------------------------------------------------------------


def _mb(value: int | None) -> str:
    return "-" if not value else f"{value / MB:.0f} MB"


def report_run(result: RunResult, expected: int, server: Server) -> None:
    statuses = ", ".join(f"{n} x {s}" for s, n in sorted(result.server_statuses.items()))
    counts = [f"{result.server_pages} (server log: {statuses})"]
    if result.crawl_pages is not None:
        counts.append(f"{result.crawl_pages} (crawl stats)")
    if result.db_pages is not None:
        counts.append(f"{result.db_pages} page rows, {result.db_documents} documents (database)")
    print(f"    pages fetched   {'; '.join(counts)}; site has {expected}")
    errors = result.server_pages - result.server_statuses.get("200", 0)
    if errors:
        print(f"    WARNING: the server answered {errors} requests with an error (its error.log)")
    if result.server_pages < expected:
        print(f"    WARNING: {expected - result.server_pages} pages of the site were not fetched")
    print(f"    exit status     {result.status}, finish reason {result.finish_reason or '?'}")
    if result.status or result.note:
        log = result.log.read_text(errors="replace").strip().splitlines() if result.log else []
        print(f"    FAILED          {result.note or (log[-1] if log else '')} (see {result.log})")
    print(
        f"    wall            {result.wall:.1f} s end to end; fetch window {result.window:.1f} s "
        "(first to last request the server saw)"
    )
    print(
        f"    pages/s         {result.rate:.1f} end to end; {result.window_rate:.1f} over the "
        "fetch window"
    )
    workers = result.cpu_total - result.cpu_crawler
    split = (
        f"crawler {result.per_page(result.cpu_crawler):.2f} ms, its children "
        f"{result.per_page(workers):.2f} ms"
        if result.workers
        else "a single process"
    )
    print(
        f"    CPU per page    {result.per_page(result.cpu_total):.2f} ms (user+sys of the tree: "
        f"{split}); {result.cpu_total:.1f} CPU s = {result.cpu_total / result.wall:.2f} cores "
        f"busy; server ({server.kind}) {result.per_page(result.server_cpu):.2f} ms/page"
    )
    if result.machine_busy is not None:
        ours = result.cpu_total + result.server_cpu + result.harness_cpu
        others = result.machine_busy - ours
        warning = (
            "  <- other load: these numbers are skewed, run again on a quiet machine"
            if others / result.wall > 0.15
            else ""
        )
        print(
            f"    machine         {result.machine_busy / result.wall:.2f} of {os.cpu_count()} "
            f"cores busy: this crawl, the server, {result.harness_cpu / result.wall:.2f} for "
            f"measuring, {max(others, 0) / result.wall:.2f} other (kernel, other processes)"
            f"{warning}"
        )
    workers_text = (
        f"{_mb(result.peak_workers)} (sum of {result.workers} extraction workers' peaks)"
        if result.workers
        else "no worker processes"
    )
    print(f"    peak RSS        crawler {_mb(result.peak_crawler)}; workers {workers_text}")
    if result.warc_bytes is not None:
        print(f"    WARC            {result.warc_bytes / MB:.1f} MB")
    if result.trace:
        report_trace(result)


def report_trace(result: RunResult) -> None:
    """RSS when the server had served each checkpoint's number of pages (the last sample for
    a checkpoint the crawl reached after it), and at the end."""
    shown = []
    for checkpoint in CHECKPOINTS:
        if checkpoint > result.server_pages:
            break
        sample = next((s for s in result.trace if s[1] >= checkpoint), result.trace[-1])
        shown.append((f"at {checkpoint:,} pages", checkpoint, *sample))
    shown.append(("last sample", 0, *result.trace[-1]))
    for where, _, elapsed, count, rss, workers in shown:
        extra = f", workers {_mb(workers)}" if workers else ""
        print(
            f"    RSS {where:>17}  crawler {_mb(rss)}{extra}  "
            f"(t={elapsed:.0f} s, {count} requests served)"
        )
    points = [s for s in shown if s[1]]
    start = next((s for s in points if s[1] == 5_000), points[0] if points else None)
    if start and points[-1][1] > start[1]:
        (_, a, _, _, rss_a, _), (_, b, _, _, rss_b, _) = start, points[-1]
        growth = (rss_b - rss_a) / MB / ((b - a) / 1000)
        print(f"    RSS growth      {growth:+.2f} MB per 1,000 pages between {a:,} and {b:,}")


def summary_table(results: list[RunResult], reference: RunResult | None) -> None:
    print("\nSummary")
    header = (
        f"{'run':<28}{'pages':>7}{'wall s':>8}{'pages/s':>9}{'window/s':>10}"
        f"{'CPU ms/p':>10}{'crawler RSS':>13}{'workers RSS':>13}"
    )
    print(header)
    for r in results:
        print(
            f"{r.label:<28}{r.server_pages:>7}{r.wall:>8.1f}{r.rate:>9.1f}{r.window_rate:>10.1f}"
            f"{r.per_page(r.cpu_total):>10.2f}{_mb(r.peak_crawler):>13}"
            f"{_mb(r.peak_workers) if r.workers else '-':>13}"
        )
    if reference is None:
        return
    for r in results:
        if r is reference or not reference.rate:
            continue
        print(
            f"ratio {r.name}/{reference.name} in pages/s: {r.rate / reference.rate:.3f} end to "
            f"end, {r.window_rate / reference.window_rate:.3f} over the fetch window"
        )


def _versions() -> str:
    names = ("scrapy", "twisted", "trafilatura", "warcio", "lxml", "storycrawl")
    found = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{name} {version(name)}")
    return ", ".join(found)


# -- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3000, help="Article pages (default 3000).")
    parser.add_argument("--out", type=Path, help="Keep the site, data, logs and results here.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the site generator.")
    parser.add_argument("--rss-trace", action="store_true", help="RSS against pages served.")
    parser.add_argument("--server", choices=("auto", "nginx", "twisted"), default="auto")
    parser.add_argument("--no-gzip", action="store_true", help="Serve pages uncompressed.")
    parser.add_argument("--runs", default="1,2,3", help="Which crawls, e.g. 1,2 (default 1,2,3).")
    parser.add_argument("--timeout", type=float, help="Seconds per crawl (default 120 + pages/2).")
    parser.add_argument(
        "--profile", type=Path, help="py-spy raw profiles of (2) to FILE, of (3) beside it."
    )
    args = parser.parse_args(argv)
    if args.pages < 10:
        parser.error("--pages must be at least 10")
    return args


def _terminated(signum, frame) -> None:
    print("\nterminated (SIGTERM): stopping the crawl and the server", file=sys.stderr, flush=True)
    sys.exit(143)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    work = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="storycrawl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    try:
        _run(args, work)
    finally:
        for proc in reversed(STARTED):  # a crawl cut short by Ctrl-C or SIGTERM, the server
            end_group(proc)
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _run(args: argparse.Namespace, work: Path) -> None:
    probe = Probe()
    limit = args.timeout or 120 + args.pages / 2
    print("storycrawl throughput benchmark")
    print(
        f"machine      {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"software     {_versions()}")
    print(f"measured by  {probe.name}; total CPU from wait4 (the crawler and its reaped children)")
    if not psutil:
        print("             psutil is missing (`pip install psutil`): reading /proc instead")
    site_root = work / "site"
    info = generate_site(site_root, args.pages, args.seed)
    (site_root / "bench-token.txt").write_text(f"{os.getpid()}-{time.time()}\n")
    (site_root / "bench-token.txt").chmod(0o644)
    how = "reused" if info.reused else f"generated in {info.seconds:.1f} s"
    print(
        f"site         {info.articles} articles + {info.pages - info.articles} listing pages = "
        f"{info.pages} pages, {info.html_bytes / MB:.1f} MB of HTML "
        f"({info.smallest / 1000:.0f}-{info.largest / 1000:.0f} KB, "
        f"mean {info.html_bytes / info.pages / 1000:.0f} KB; gzip {info.gzip_bytes / MB:.1f} MB), "
        f"{info.links_per_page:.0f} distinct links/page; seed {info.seed}; {how}"
    )
    print(f"work dir     {work}{'' if args.out else ' (temporary, removed at the end)'}")
    server_limit = 4 * limit + 600
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if args.server == "nginx" and not nginx:
        raise SystemExit("nginx is not installed (Debian: apt-get install -y nginx)")
    if nginx and args.server != "twisted":
        server = start_nginx(nginx, site_root, work, not args.no_gzip, server_limit)
    else:
        if args.server == "auto":
            print("server       nginx not found (apt-get install -y nginx): Twisted fallback")
        server = start_twisted(site_root, work, not args.no_gzip, server_limit)
    coding = (
        "uncompressed" if args.no_gzip else "pages pre-compressed, sent with Content-Encoding: gzip"
    )
    print(f"server       {server.kind}: {server.description}, {coding}")
    seed = server.base_url + seed_path(site_root).lstrip("/")
    print(f"crawls       start at {seed} and {server.base_url}; limit {limit:.0f} s each\n")

    runs = {int(x) for x in args.runs.split(",") if x.strip()}
    results: list[RunResult] = []
    reference = None
    runs_dir = work / "runs"

    def fresh(name: str) -> Path:
        directory = runs_dir / name
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        return directory

    if 1 in runs:
        print("(1) lean reference: plain Scrapy following every link; no WARC, extraction, DB")
        run_dir = fresh("1-lean")
        stats_file = run_dir / "stats.json"
        command = lean_command([seed, server.base_url], stats_file, limit)
        reference = measure(
            "(1)", "(1) lean Scrapy", command, run_dir, server, probe, limit, args.rss_trace
        )
        if stats_file.exists():
            stats = json.loads(stats_file.read_text())
            reference.crawl_pages = stats.get("response_received_count")
            reference.finish_reason = stats.get("finish_reason")
        report_run(reference, info.pages, server)
        results.append(reference)
    if 2 in runs:
        print("\n(2) storycrawl: archive (WARC), extract (trafilatura workers), store (SQLite)")
        run_dir = fresh("2-storycrawl")
        command = storycrawl_command(seed, server.base_url, run_dir / "data", args.pages, limit, [])
        result = measure(
            "(2)",
            "(2) storycrawl full",
            command,
            run_dir,
            server,
            probe,
            limit,
            args.rss_trace,
            args.profile.resolve() if args.profile else None,
        )
        read_database(result, run_dir / "data")
        report_run(result, info.pages, server)
        if args.profile:
            print(f"    profile         {args.profile} (py-spy raw; numbers include it)")
        results.append(result)
    archive_profile = None
    if args.profile:
        profile = args.profile.resolve()
        archive_profile = profile.with_name(f"{profile.stem}-archive-only{profile.suffix}")
    if 3 in runs:
        print("\n(3) storycrawl archive-only (STORYCRAWL_EXTRACT=False): WARC and page rows")
        run_dir = fresh("3-archive-only")
        command = storycrawl_command(
            seed,
            server.base_url,
            run_dir / "data",
            args.pages,
            limit,
            ["STORYCRAWL_EXTRACT=False"],
        )
        result = measure(
            "(3)",
            "(3) storycrawl archive-only",
            command,
            run_dir,
            server,
            probe,
            limit,
            args.rss_trace,
            archive_profile,
        )
        read_database(result, run_dir / "data")
        report_run(result, info.pages, server)
        if (result.db_documents or 0) > 1:  # the seed is extracted: the story needs it
            print("    WARNING: documents were stored: STORYCRAWL_EXTRACT=False not honoured")
        if archive_profile:
            print(f"    profile         {archive_profile} (py-spy raw; numbers include it)")
        results.append(result)
    if results:
        summary_table(results, reference)
    if args.out:
        payload = {
            "site": asdict(info),
            "server": server.description,
            "limit": limit,
            "runs": [
                asdict(r) | {"pages_per_s": r.rate, "window_pages_per_s": r.window_rate}
                for r in results
            ],
        }
        (work / "results.json").write_text(json.dumps(payload, indent=1, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_lean":
        _lean_main(sys.argv[2:])
    else:
        sys.exit(main())
