"""What the kinds kept as a history of versions (vector, raster, point cloud, table) share: the
`versions` + `closures` tables, the merge report and summary of a landing, the bookkeeping the
checks observe (tiles, vintages, quarantined rows, source files) and the history SQL views."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import shapely

from jnft.ingest.bronze import read_manifest
from jnft.ingest.scd2 import hold_merges, publish_merges
from jnft.ingest.vintages import IngestReport
from jnft.kinds.base import Kind, Landing, Observation, Scope, Spec, extent
from jnft.lakehouse.bookkeeping import merged_vintages, quarantined_rows
from jnft.lakehouse.delta import frame_of, open_table
from jnft.lakehouse.history import current, history
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.summary import LayerSummary, summarize

if TYPE_CHECKING:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.quality.fiche import Fiche

# The versions' columns in the history views: the WKB geometry read as GEOMETRY.
GEOMETRY_COLUMNS = "v.* REPLACE (ST_GeomFromWKB(v.geometry) AS geometry)"
HISTORY_TABLES = ("versions", "closures", "commits", "staged", "quarantine")


class LayeredKind(Kind[Spec]):
    """A kind whose rows are versions of features (or tiles) merged vintage by vintage."""

    view_columns: str = GEOMETRY_COLUMNS  # what the history views select from `versions`
    extra_views: tuple[str, ...] = ()  # further SQL templates applied to the concept

    def merge(
        self, store: Lakehouse, fiche: Fiche, entries: list[BronzeEntry], scope: Scope
    ) -> IngestReport:
        """Merge the landed vintages of the concept for the tiles."""
        raise NotImplementedError

    def preview(self, store: Lakehouse, fiche: Fiche, summary: LayerSummary) -> bytes | None:
        return None

    def land(self, store: Lakehouse, fiche: Fiche, scope: Scope) -> Landing:
        if not (self.gold and fiche.is_public):
            # Gold holds exactly the public concepts: one turned restricted loses its snapshot
            # in the run that sees it so.
            store.remove(store.gold_path(fiche.id))
        entries = read_manifest(store, fiche.source.name, [fiche.source.pattern])
        report = self.merge(store, fiche, entries, scope)
        staged = report.pending()
        summary = summarize(store, fiche.id, scope.tiles, staged)
        totals = report.totals()
        values = {
            "dagster/row_count": summary.rows,
            "crs": summary.crs,
            "bbox": list(summary.bbox) if summary.bbox else None,
            "delta_version": summary.versions_version,
            "closures_delta_version": summary.closures_version,
            "vintages_merged": [m.vintage.isoformat() for m in report.merges],
            "vintages_already_merged": report.skipped_vintages,
            **totals,
            "quarantined": report.quarantined,
            "repaired_geometries": report.repaired,
            "rejected_files": report.rejected_files,
            "incomplete_vintages": report.incomplete_vintages,
        }
        has_rows = summary.current is not None and summary.rows > 0
        return Landing(
            uri=store.table_uri(fiche.id, "versions"),
            values=values,
            rows=summary.current,
            schema=summary.schema,
            preview=self.preview(store, fiche, summary) if has_rows else None,
            staged=staged,
        )

    def publish(self, store: Lakehouse, fiche: Fiche, landing: Landing) -> None:
        if landing.staged is not None:
            publish_merges(store.table_uri(fiche.id, "versions"), landing.staged)

    def hold(self, store: Lakehouse, fiche: Fiche, landing: Landing, reasons: list[str]) -> None:
        if landing.staged is not None:
            hold_merges(store.table_uri(fiche.id, "staged"), landing.staged, reasons)

    def exists(self, store: Lakehouse, fiche: Fiche) -> bool:
        return open_table(store.table_uri(fiche.id, "versions")) is not None

    def current(self, store: Lakehouse, fiche: Fiche, tiles: list[str] | None = None) -> pa.Table:
        return current(
            store.table_uri(fiche.id, "versions"), store.table_uri(fiche.id, "closures"), tiles
        )

    def had_rows(self, store: Lakehouse, fiche: Fiche, tiles: list[str] | None) -> bool:
        versions, closures = (store.table_uri(fiche.id, t) for t in ("versions", "closures"))
        return history(versions, closures, tiles).num_rows > 0

    def ranged_columns(self, fiche: Fiche) -> list[str]:
        """The columns C9's declared ranges apply to."""
        return list(fiche.criteria.c09_quality.ranges or {})

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        """The bookkeeping every layer shares and the columns of its C9 suite; kinds add what
        their rows show."""
        frame = frame_of(rows)
        if self.footprint != "none":
            obs.bbox = extent(frame)
        obs.tiles = sorted(frame["tile"].unique().to_list())
        obs.vintages = merged_vintages(store, fiche.id, obs.tiles)
        obs.quarantined = _latest_quarantined(store, fiche.id, obs.tiles)
        obs.source_files = {
            s for value in frame["source_sha256"].unique().to_list() for s in value.split(",")
        }
        quality = fiche.criteria.c09_quality
        columns = dict.fromkeys(
            ["feature_id", *quality.required_attributes, *self.ranged_columns(fiche)]
        )
        obs.checked = frame.select([c for c in columns if c in frame.columns]).to_pandas()
        obs.checked["geometry_is_valid"] = (
            shapely.is_valid(shapely.from_wkb(rows["geometry"].to_numpy(zero_copy_only=False)))
            if self.footprint != "none"
            else True  # no geometry: the codes join to one
        )

    def views(self, store: Lakehouse, fiche: Fiche) -> list[dict[str, str]]:
        tables = {t: store.table_uri(fiche.id, t) for t in HISTORY_TABLES}
        subs = [{"kind": "history", "concept": fiche.id, "columns": self.view_columns, **tables}]
        subs += [{"kind": kind, "concept": fiche.id, **tables} for kind in self.extra_views]
        if fiche.is_public:
            subs.append({"kind": "public", "concept": fiche.id, **tables})
        return subs


def _latest_quarantined(store: Lakehouse, concept: str, tiles: list[str]) -> dict:
    """Quarantined rows of the files of the latest merge into each of these tiles (of a
    delivery delivered again, the last one landed)."""
    log = open_table(store.table_uri(concept, "merges"))
    if log is None:
        return {}
    merged = frame_of(log.to_pyarrow_table(columns=["tile", "vintage", "sources", "merged_at"]))
    merged = merged.filter(pl.col("tile").is_in(tiles))
    if merged.is_empty():
        return {}
    latest = merged.sort("vintage", "merged_at").group_by("tile").last()
    files = {s for key in latest["sources"].to_list() for s in key.split(",")}
    return quarantined_rows(store, concept, files)
