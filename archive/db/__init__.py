"""The database: engine and migrations, models, one repository of queries, the batch writer."""
