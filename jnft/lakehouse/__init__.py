"""Storage engine of the twin: Delta + GeoParquet + COG, history, tiles, DuckDB. No Dagster here."""
