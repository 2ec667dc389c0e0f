"""The ``storycrawl`` command's entry point (also ``python -m crawler``).

It imports the command line only when it runs: a spawned extraction worker imports its
parent's main script again, and with crawler.cli at the top it would load Scrapy,
SQLAlchemy and Alembic it never uses, a second of CPU and 50 MB each before its first page.
"""

import sys


def main() -> int:
    from crawler.cli import main as command_line

    return command_line()


if __name__ == "__main__":
    sys.exit(main())
