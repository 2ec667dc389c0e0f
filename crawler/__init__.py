"""storycrawl's network side: the Scrapy project that follows a story across sites."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storycrawl")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
