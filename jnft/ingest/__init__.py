"""From delivery to silver: bronze landing, normalization (columns, geometries, ids, hashes),
SCD2 merges of vintages, series appends and rating curves, quarantine. No Dagster here."""
