"""storycrawl at rest: WARC files, extraction, the database and exports; no network here."""
