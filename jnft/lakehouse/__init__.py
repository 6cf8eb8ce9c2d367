"""Storage only: where things live (local folder), Delta tables, the history and series tables
read back, the DuckDB database. No format parsing, no Dagster here."""
