"""Dagster software-defined assets, one module per domain, generated from the concept fiches."""
