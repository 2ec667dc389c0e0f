"""storycrawl's own signals, sent through the crawler's SignalManager like Scrapy's."""

#: Sent with ``urls=[…]`` when a robots.txt lists sitemaps (crawler.discovery.robots); the
#: spider subscribes to it.
sitemaps_found = object()

#: Sent with ``story_id`` and ``crawl_id`` once the spider holds the story's run lock and
#: has recorded the crawl: the pipeline writes from then on.
run_started = object()
