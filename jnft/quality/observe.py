"""What the data shows about a concept: the observed half of the criteria, read from the
lakehouse (current rows of the tiles in scope, bronze manifest, gold file, COG tiles)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import rasterio
import shapely

from jnft.lakehouse.bronze import read_manifest
from jnft.lakehouse.delta import open_table
from jnft.lakehouse.geometry import geometry_types
from jnft.lakehouse.history import current
from jnft.lakehouse.store import Lakehouse
from jnft.quality.expectations import ExpectationOutcome, run_suite
from jnft.quality.fiche import Fiche


@dataclass
class Observation:
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    geometry_types: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    tiles: list[str] = field(default_factory=list)
    vintages: list[str] = field(default_factory=list)
    source_files: set[str] = field(default_factory=set)  # sha256 the rows trace to
    bronze_files: set[str] = field(default_factory=set)  # sha256 landed in bronze
    expectations: list[ExpectationOutcome] = field(default_factory=list)  # the C9 suite
    # Rows of the latest delivery that were quarantined: criterion -> reason -> count.
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    resolutions: list[float] = field(default_factory=list)
    crs: list[str] = field(default_factory=list)
    cog_problems: list[str] = field(default_factory=list)
    gold_geo: dict | None = None

    @property
    def latest_vintage(self) -> dt.date | None:
        return dt.date.fromisoformat(max(self.vintages)) if self.vintages else None


def observe(
    store: Lakehouse, fiche: Fiche, tiles: list[str] | None, rows: pa.Table | None = None
) -> Observation:
    """Observe a concept's current rows within the tiles (all tiles when None); pass `rows`
    when the caller has already read them."""
    obs = Observation(bronze_files={e.sha256 for e in read_manifest(store, fiche.source.name)})
    versions = store.table_uri(fiche.id, "versions")
    if open_table(versions) is None:
        return obs
    table = (
        rows
        if rows is not None
        else current(versions, store.table_uri(fiche.id, "closures"), tiles)
    )
    frame = pl.from_arrow(table)
    obs.rows = frame.height
    obs.columns = frame.columns
    if not obs.rows:
        return obs
    obs.bbox = (
        frame["bbox_xmin"].min(),
        frame["bbox_ymin"].min(),
        frame["bbox_xmax"].max(),
        frame["bbox_ymax"].max(),
    )
    obs.tiles = sorted(frame["tile"].unique().to_list())
    obs.vintages = _merged_vintages(store, fiche.id, obs.tiles)
    obs.quarantined = _quarantined(store, fiche.id, obs.tiles)
    obs.source_files = {
        s for value in frame["source_sha256"].unique().to_list() for s in value.split(",")
    }
    wkb = table["geometry"].to_numpy(zero_copy_only=False)
    quality = fiche.criteria.c09_quality
    ranged = ["minimum", "maximum"] if fiche.kind == "raster" else list(quality.ranges or {})
    columns = dict.fromkeys(["feature_id", *quality.required_attributes, *ranged])
    checked = frame.select([c for c in columns if c in frame.columns]).to_pandas()
    checked["geometry_is_valid"] = shapely.is_valid(shapely.from_wkb(wkb))
    obs.expectations = run_suite(fiche, checked)
    if fiche.kind == "vector":
        obs.geometry_types = geometry_types(wkb)
        gold = store.gold_path(fiche.id)
        if gold.exists():
            obs.gold_geo = json.loads(pq.read_schema(gold).metadata[b"geo"])
    else:
        obs.resolutions = sorted(set(frame["resolution"].to_list()))
        obs.crs = sorted(set(frame["crs"].to_list()))
        obs.cog_problems = [
            p for path in frame["path"].to_list() if (p := _cog_problem(store.root / path))
        ]
    return obs


def _quarantined(store: Lakehouse, concept: str, tiles: list[str]) -> dict[str, dict[str, int]]:
    """Quarantined rows of the files of the latest vintage merged into these tiles."""
    log = open_table(store.table_uri(concept, "merges"))
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if log is None or quarantine is None:
        return {}
    merged = pl.from_arrow(log.to_pyarrow_table(columns=["tile", "vintage", "sources"]))
    merged = merged.filter(pl.col("tile").is_in(tiles))
    if merged.is_empty():
        return {}
    latest = merged.filter(pl.col("vintage") == merged["vintage"].max())
    files = {s for key in latest["sources"].to_list() for s in key.split(",")}
    rows = pl.from_arrow(
        quarantine.to_pyarrow_table(columns=["source_sha256", "criterion", "reason"])
    )
    rows = rows.filter(pl.col("source_sha256").is_in(list(files)))
    counts: dict[str, dict[str, int]] = {}
    for criterion, reason, n in rows.group_by(["criterion", "reason"]).len().iter_rows():
        counts.setdefault(criterion, {})[reason] = n
    return counts


def _merged_vintages(store: Lakehouse, concept: str, tiles: list[str]) -> list[str]:
    """Vintages merged into these tiles (a vintage that changed nothing leaves no row)."""
    log = open_table(store.table_uri(concept, "merges"))
    if log is None:
        return []
    merged = pl.from_arrow(log.to_pyarrow_table(columns=["tile", "vintage"]))
    merged = merged.filter(pl.col("tile").is_in(tiles))
    return sorted({v.isoformat() for v in merged["vintage"].to_list()})


def _cog_problem(path: Path) -> str | None:
    """Why a file is not a usable COG tile (None when it is)."""
    if not path.exists():
        return f"{path.name}: missing"
    with rasterio.open(path) as src:
        if not src.profile.get("tiled"):
            return f"{path}: not tiled"
        if not src.overviews(1) and max(src.width, src.height) > 512:
            return f"{path}: no overviews"
        if src.crs is None:
            return f"{path}: no CRS"
    return None
