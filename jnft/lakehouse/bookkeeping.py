"""A concept's bookkeeping tables read back: which vintages were merged into which tiles
(`merges`), and what was quarantined (`quarantine`), by criterion and reason."""

from __future__ import annotations

import polars as pl
import pyarrow.compute as pc

from jnft.lakehouse.delta import frame_of, open_table
from jnft.lakehouse.store import Lakehouse

# How many quarantined rows a reason names by their feature ids, for a person to find them.
EXAMPLE_IDS = 5


def quarantined_rows(
    store: Lakehouse, concept: str, files: set[str]
) -> dict[str, dict[str, tuple[int, list[str]]]]:
    """Quarantined rows of these source files: criterion -> reason -> (count, a few ids)."""
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return {}
    columns = ["source_sha256", "criterion", "reason", "feature_id"]
    rows = frame_of(quarantine.to_pyarrow_table(columns=columns)).filter(
        pl.col("source_sha256").is_in(list(files))
    )
    grouped = rows.group_by(["criterion", "reason"]).agg(
        pl.len(), pl.col("feature_id").drop_nulls().head(EXAMPLE_IDS)
    )
    counts: dict[str, dict[str, tuple[int, list[str]]]] = {}
    for criterion, reason, n, ids in grouped.iter_rows():
        counts.setdefault(criterion, {})[reason] = (n, ids)
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
