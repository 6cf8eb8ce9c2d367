"""A concept's bookkeeping tables read back: which vintages were merged into which tiles
(`merges`), and what was quarantined (`quarantine`), by criterion and reason."""

from __future__ import annotations

import polars as pl
import pyarrow.compute as pc

from jnft.lakehouse.delta import frame_of, open_table
from jnft.lakehouse.store import Lakehouse


def quarantined_rows(store: Lakehouse, concept: str, files: set[str]) -> dict[str, dict[str, int]]:
    """Quarantined rows of these source files: criterion -> reason -> count."""
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return {}
    rows = frame_of(
        quarantine.to_pyarrow_table(columns=["source_sha256", "criterion", "reason"])
    ).filter(pl.col("source_sha256").is_in(list(files)))
    counts: dict[str, dict[str, int]] = {}
    for criterion, reason, n in rows.group_by(["criterion", "reason"]).len().iter_rows():
        counts.setdefault(criterion, {})[reason] = n
    return counts


def rejected_files(store: Lakehouse, concept: str) -> int:
    """Whole files of the concept in quarantine."""
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return 0
    level = quarantine.to_pyarrow_table(columns=["level"])["level"]
    return pc.sum(pc.equal(level, "file")).as_py() or 0


def merged_vintages(store: Lakehouse, concept: str, tiles: list[str]) -> list[str]:
    """Vintages merged into these tiles (a vintage that changed nothing leaves no row)."""
    log = open_table(store.table_uri(concept, "merges"))
    if log is None:
        return []
    merged = frame_of(log.to_pyarrow_table(columns=["tile", "vintage"]))
    merged = merged.filter(pl.col("tile").is_in(tiles))
    return sorted({v.isoformat() for v in merged["vintage"].to_list()})
