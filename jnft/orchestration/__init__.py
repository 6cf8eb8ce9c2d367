"""Dagster wiring: Definitions, resources, partitions, schedules, sensors, and the CLI."""
