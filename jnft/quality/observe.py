"""What the data shows about a concept: the observed half of the criteria, read from the
lakehouse (current rows of the tiles in scope, bronze manifest, gold file, COG tiles)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import rasterio
import shapely

from jnft.formats.geometry import geometry_types
from jnft.ingest.bronze import read_manifest
from jnft.lakehouse.delta import open_table
from jnft.lakehouse.history import current
from jnft.lakehouse.observations import current_observations
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
    densities: dict[str, float] = field(default_factory=dict)  # points/m² per tile
    rejected_files: int = 0  # whole files of the concept in quarantine
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
    obs.rejected_files = _rejected_files(store, fiche.id)
    if fiche.kind == "timeseries":
        return _observe_series(store, fiche, obs, rows)
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
    if fiche.kind == "table":
        return _observe_table(store, fiche, frame, obs)
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
    ranged = ["minimum", "maximum"] if fiche.kind != "vector" else list(quality.ranges or {})
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
        paths = frame["path"].to_list()
        if fiche.kind == "pointcloud":
            paths = [
                p for products in frame["products"].to_list() for p in json.loads(products).values()
            ]
            obs.densities = dict(
                zip(frame["tile"].to_list(), frame["density"].to_list(), strict=True)
            )
        obs.cog_problems = [p for path in paths if (p := _cog_problem(store.root / path))]
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
    return _quarantined_rows(store, concept, files)


def _observe_table(
    store: Lakehouse, fiche: Fiche, frame: pl.DataFrame, obs: Observation
) -> Observation:
    """An attribute table: its rows, vintages, files and C9 suite; no geometry, no extent."""
    obs.tiles = sorted(frame["tile"].unique().to_list())
    obs.vintages = _merged_vintages(store, fiche.id, obs.tiles)
    obs.quarantined = _quarantined(store, fiche.id, obs.tiles)
    obs.source_files = set(frame["source_sha256"].unique().to_list())
    quality = fiche.criteria.c09_quality
    columns = dict.fromkeys(["feature_id", *quality.required_attributes, *(quality.ranges or {})])
    checked = frame.select([c for c in columns if c in frame.columns]).to_pandas()
    checked["geometry_is_valid"] = True  # no geometry: the codes join to one
    obs.expectations = run_suite(fiche, checked)
    return obs


def _observe_series(
    store: Lakehouse, fiche: Fiche, obs: Observation, rows: pa.Table | None
) -> Observation:
    """A series is observed through its current observations and its stations table."""
    frame = (
        pl.from_arrow(rows)
        if rows is not None
        else current_observations(store.table_uri(fiche.id, "observations"))
    )
    stations = open_table(store.table_uri(fiche.id, "stations"))
    obs.rows = frame.height
    obs.columns = frame.columns
    if not obs.rows or stations is None:
        return obs
    located = pl.from_arrow(stations.to_pyarrow_table()).filter(pl.col("geometry").is_not_null())
    if located.height:
        obs.bbox = (
            located["bbox_xmin"].min(),
            located["bbox_ymin"].min(),
            located["bbox_xmax"].max(),
            located["bbox_ymax"].max(),
        )
        obs.tiles = sorted(located["tile"].unique().to_list())
        obs.geometry_types = ["Point"]
    obs.vintages = [frame["time"].max().date().isoformat()]
    loads = open_table(store.table_uri(fiche.id, "loads"))
    if loads is not None:
        obs.source_files = set(
            loads.to_pyarrow_table(columns=["source_sha256"])["source_sha256"].to_pylist()
        )
    checked = frame.select(
        pl.concat_str(
            pl.col("station", "variable"), pl.col("time").cast(pl.String), separator="/"
        ).alias("feature_id"),
        *[pl.col(c) for c in {"value", *fiche.criteria.c09_quality.required_attributes}],
    ).to_pandas()
    checked["geometry_is_valid"] = True  # observations carry no geometry: stations do
    obs.expectations = run_suite(fiche, checked)
    obs.quarantined = _quarantined_rows(store, fiche.id, obs.source_files)
    return obs


def _quarantined_rows(store: Lakehouse, concept: str, files: set[str]) -> dict[str, dict[str, int]]:
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return {}
    rows = pl.from_arrow(
        quarantine.to_pyarrow_table(columns=["source_sha256", "criterion", "reason"])
    ).filter(pl.col("source_sha256").is_in(list(files)))
    counts: dict[str, dict[str, int]] = {}
    for criterion, reason, n in rows.group_by(["criterion", "reason"]).len().iter_rows():
        counts.setdefault(criterion, {})[reason] = n
    return counts


def _rejected_files(store: Lakehouse, concept: str) -> int:
    quarantine = open_table(store.table_uri(concept, "quarantine"))
    if quarantine is None:
        return 0
    level = quarantine.to_pyarrow_table(columns=["level"])["level"]
    return pc.sum(pc.equal(level, "file")).as_py() or 0


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
