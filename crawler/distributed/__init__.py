"""One story crawl shared by several workers (processes, machines) through Redis.

``storycrawl crawl STORY --frontier redis://HOST:PORT/DB --db postgresql+psycopg://…`` run
more than once works on one crawl. Redis holds what the workers must agree on at once:

- the queue of requests, a scrapy-redis priority queue whose order is the link's score
  (crawler.distributed.scheduler), with every popped request leased until its page is
  processed, and handed back to the queue when its worker dies;
- the crawl's seen-set: the frontier's keys (crawler.distributed.shared.SharedKeys) and
  scrapy-redis's request fingerprints, both bounded by the story's ``max_pages`` (plus the
  redirects met on the way), and dropped when the crawl is done;
- who leads (records the crawl, fetches the seeds), which workers are alive, and the
  run figures they add up for the one worker that settles the crawl;
- when each outlet may next be fetched (crawler.distributed.politeness), so that a site's
  delay holds crawl-wide.

The database stays the frontier's record: candidate states, scores and reasons go to it
from every worker, and a run after one that died resumes from it.
"""
