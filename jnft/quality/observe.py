"""What the data shows about a concept: the observed half of the criteria, read from the
lakehouse by the concept's kind (current rows of the tiles in scope, bronze manifest, gold file,
COG tiles), with the C9 suite run on the columns the kind hands over."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from jnft.ingest.bronze import read_manifest
from jnft.kinds import Observation, kind_of
from jnft.lakehouse.bookkeeping import rejected_files
from jnft.lakehouse.delta import open_table
from jnft.lakehouse.store import Lakehouse
from jnft.quality.expectations import run_suite
from jnft.quality.fiche import Fiche


def observe(
    store: Lakehouse, fiche: Fiche, tiles: list[str] | None, rows: pa.Table | None = None
) -> Observation:
    """Observe a concept's current rows within the tiles (all tiles when None); pass `rows`
    when the caller has already read them."""
    kind = kind_of(fiche)
    obs = Observation(bronze_files={e.sha256 for e in read_manifest(store, fiche.source.name)})
    obs.rejected_files = rejected_files(store, fiche.id)
    obs.rejections = file_rejections(store, fiche.id)
    if not kind.exists(store, fiche):
        return obs
    table = rows if rows is not None else kind.current(store, fiche, tiles)
    obs.rows = table.num_rows
    obs.columns = table.column_names
    if not obs.rows:
        obs.emptied = kind.had_rows(store, fiche, tiles)
        return obs
    kind.observe(store, fiche, obs, table, tiles)
    if obs.checked is not None:
        obs.expectations = run_suite(fiche, obs.checked)
    return obs


def file_rejections(store: Lakehouse, concept: str) -> list[str]:
    """`criterion: reason` of each whole file of the concept in quarantine."""
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return []
    table = quarantine.to_pyarrow_table(columns=["level", "criterion", "reason"])
    files = table.filter(pc.equal(table["level"], "file"))
    return [
        f"{criterion}: {reason}"
        for criterion, reason in zip(
            files["criterion"].to_pylist(), files["reason"].to_pylist(), strict=True
        )
    ]
