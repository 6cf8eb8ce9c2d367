"""Bronze to silver for a time-series concept: every landed file not yet loaded is read,
deduplicated and appended to `observations`; unreadable files and rows go to quarantine;
stations land in `stations`; stages get discharges from the rating curve when one is declared;
the series' sampling lands in `sampling` and its design events in `design_events`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyproj
import shapely
from deltalake import write_deltalake

from jnft.formats.errors import SourceFileError
from jnft.formats.series import Series, Station
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.dedup import deduplicate, quarantine_series_rows
from jnft.ingest.quarantine import QUARANTINE_SCHEMA, reject_file, write_quarantine
from jnft.ingest.rating import RatingCurve
from jnft.lakehouse.delta import ensure_table, holds_already, open_table
from jnft.lakehouse.observations import (
    SERIES_SCHEMA,
    AppendResult,
    append_observations,
    current_observations,
)
from jnft.lakehouse.store import Lakehouse
from jnft.simulation.design import (
    DesignError,
    GaugeSeries,
    Law,
    Sampling,
    analyse,
    return_levels,
)
from jnft.tiles import BBOX_COLUMNS, TARGET_CRS, tile_array

LOADS_SCHEMA = pa.schema(
    [
        ("source_sha256", pa.string()),
        ("file", pa.string()),
        ("rows", pa.int64()),
        ("new", pa.int64()),
        ("revised", pa.int64()),
        ("unchanged", pa.int64()),
        ("quarantined", pa.int64()),
        ("run_id", pa.string()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)
STATIONS_SCHEMA = pa.schema(
    [
        ("feature_id", pa.string()),
        ("name", pa.string()),
        ("variables", pa.string()),
        ("first_time", pa.timestamp("us", tz="UTC")),
        ("last_time", pa.timestamp("us", tz="UTC")),
        ("observations", pa.int64()),
        ("geometry", pa.binary()),
        *[(c, pa.float64()) for c in BBOX_COLUMNS],
        ("tile", pa.string()),
    ]
)


SAMPLING_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("year_start_month", pa.int32()),
        ("threshold", pa.float64()),
        ("years", pa.float64()),
        ("design", pa.string()),  # the fiche's design settings (JSON) the events answer
    ]
)
DESIGN_EVENTS_SCHEMA = pa.schema(
    [
        ("station", pa.string()),
        ("variable", pa.string()),
        ("sampling", pa.string()),
        ("law", pa.string()),
        ("parameters", pa.string()),  # JSON: xi, mu/threshold, sigma, rate_per_year
        ("return_period", pa.float64()),
        ("value", pa.float64()),
        ("low", pa.float64()),
        ("high", pa.float64()),
        ("confidence", pa.float64()),
        ("unit", pa.string()),
        ("events", pa.int64()),  # annual maxima or peaks fitted
        ("years", pa.float64()),  # years of record
        ("first_year", pa.int32()),
        ("last_year", pa.int32()),
        ("problem", pa.string()),  # why a series has no design event (then no level)
    ]
)


@dataclass(frozen=True)
class DesignSettings:
    """What design events a series' fiche asks for."""

    sampling: Sampling
    variables: list[str] | None  # None: every variable landed
    return_periods: list[float]
    law: Law | None
    confidence: float


@dataclass(frozen=True)
class StageToDischarge:
    """Discharges derived from a stage variable by a rating curve."""

    curve: RatingCurve
    stage_variable: str
    derived_variable: str
    valid_from: dt.datetime | None  # stages before this are not converted
    gaugings_sha256: str


@dataclass
class SeriesReport:
    concept: str
    loaded: list[str] = field(default_factory=list)
    already_loaded: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    quarantined: int = 0
    derived: int = 0
    rejected_files: list[str] = field(default_factory=list)
    time_formats: dict[str, dict[str, int]] = field(default_factory=dict)  # file: format: rows
    design_events: int = 0  # (station, variable, return period) rows written


def _loaded(store: Lakehouse, concept: str) -> set[str]:
    table = open_table(store.table_uri(concept, "loads"))
    if table is None:
        return set()
    return set(table.to_pyarrow_table(columns=["source_sha256"])["source_sha256"].to_pylist())


def ingest_series(
    store: Lakehouse,
    concept: str,
    entries: list[BronzeEntry],
    read: Callable[[Path], Series],
    *,
    run_id: str,
    stations: dict[str, Station] | None = None,
    rating: StageToDischarge | None = None,
    design: DesignSettings | None = None,
) -> SeriesReport:
    """Load every landed file not yet loaded, oldest vintage first."""
    report = SeriesReport(concept)
    observations = store.table_uri(concept, "observations")
    quarantine = store.table_uri(concept, "quarantine")
    ensure_table(quarantine, QUARANTINE_SCHEMA)
    ensure_table(observations, SERIES_SCHEMA, ["station", "year"])
    done = _loaded(store, concept)
    known = dict(stations or {})
    for entry in sorted(entries, key=lambda e: (e.vintage, e.relative_path)):
        if entry.sha256 in done:
            report.already_loaded += 1
            continue
        try:
            series = read(Path(entry.bronze_path))
        except SourceFileError as error:
            reason = str(error).replace(entry.bronze_path, entry.relative_path)
            reject_file(quarantine, entry.sha256, entry.relative_path, reason, error.criterion)
            report.rejected_files.append(reason)
            report.quarantined += 1
            continue
        rows, conflicts = deduplicate(series.rows)
        bad = [
            quarantine_series_rows(
                conflicts,
                "duplicated time stamp with conflicting values",
                entry.sha256,
                entry.relative_path,
                "c09_quality",
            )
        ]
        if series.rejected is not None:
            bad.append(
                quarantine_series_rows(
                    series.rejected, "", entry.sha256, entry.relative_path, "c09_quality"
                )
            )
        bad_rows = pa.concat_tables(bad)
        write_quarantine(quarantine, bad_rows, [entry.sha256])
        if rating is not None:
            rows = pl.concat([rows, derive_discharge(rows, rating)])
            report.derived += int((rows["variable"] == rating.derived_variable).sum())
        result = append_observations(observations, rows, entry.sha256, run_id)
        for code, station in series.stations.items():
            known.setdefault(code, station)
        _log_load(store, concept, entry, rows.height, result, bad_rows.num_rows, run_id)
        report.loaded.append(entry.relative_path)
        report.time_formats[entry.relative_path] = series.time_formats
        report.new += result.new
        report.revised += result.revised
        report.unchanged += result.unchanged
        report.quarantined += bad_rows.num_rows
    # The stations table summarizes every observation: rebuilt when files were loaded or the
    # fiche locates stations, not on each hourly run that finds nothing new.
    if report.loaded or stations or open_table(store.table_uri(concept, "stations")) is None:
        write_stations(store, concept, known)
    if design is not None:
        report.design_events = update_design_events(store, concept, design, bool(report.loaded))
    return report


def update_design_events(
    store: Lakehouse, concept: str, design: DesignSettings, loaded: bool
) -> int:
    """Write the `sampling` record and recompute `design_events` when files were loaded, the
    fiche's sampling or design changed, or the events were never computed; their count."""
    sampling = design.sampling
    settings = json.dumps(
        {
            "variables": design.variables,
            "return_periods": design.return_periods,
            "law": design.law,
            "confidence": design.confidence,
        }
    )
    record = pa.table(
        {
            "kind": [sampling.kind],
            "year_start_month": [sampling.year_start_month],
            "threshold": [sampling.threshold],
            "years": [sampling.years],
            "design": [settings],
        },
        schema=SAMPLING_SCHEMA,
    )
    uri = store.table_uri(concept, "sampling")
    events_uri = store.table_uri(concept, "design_events")
    unchanged = holds_already(uri, record, {})
    if not unchanged:
        write_deltalake(uri, record, mode="overwrite", schema_mode="overwrite")
    events = open_table(events_uri)
    if unchanged and not loaded and events is not None:
        return 0
    current = current_observations(store.table_uri(concept, "observations"))
    table = design_events(current, design)
    if not holds_already(events_uri, table, {}):
        write_deltalake(events_uri, table, mode="overwrite", schema_mode="overwrite")
    return table.num_rows


def design_events(current: pl.DataFrame, design: DesignSettings) -> pa.Table:
    """One row per station, variable and return period: the law, its fitted parameters, the
    level and its bootstrap interval, the years used; one row naming the problem for a
    series that cannot be fitted."""
    rows = []
    wanted = current.sort("time")
    if design.variables is not None:
        wanted = wanted.filter(pl.col("variable").is_in(design.variables))
    for (station, variable), group in wanted.group_by("station", "variable", maintain_order=True):
        base = {
            "station": station,
            "variable": variable,
            "sampling": design.sampling.kind,
            "unit": group["unit"][0],
        }
        series = GaugeSeries(group["time"].to_numpy(), group["value"].to_numpy(), design.sampling)
        try:
            analysis = analyse(series, design.law)
            levels = return_levels(analysis.fit, design.return_periods, design.confidence)
        except DesignError as error:
            rows.append({**base, "problem": str(error)})
            continue
        fit = analysis.fit
        rows += [
            {
                **base,
                "law": fit.law,
                "parameters": json.dumps(fit.named_parameters()),
                "return_period": level.period,
                "value": level.value,
                "low": level.low,
                "high": level.high,
                "confidence": level.confidence,
                "events": fit.events,
                "years": fit.years,
                "first_year": analysis.first_year,
                "last_year": analysis.last_year,
            }
            for level in levels
        ]
    return pa.Table.from_pylist(rows, schema=DESIGN_EVENTS_SCHEMA)


def derive_discharge(rows: pl.DataFrame, rating: StageToDischarge) -> pl.DataFrame:
    """Discharge rows (m³/s) from the stage rows (m) the rating curve's validity covers."""
    stages = rows.filter(pl.col("variable") == rating.stage_variable)
    if rating.valid_from is not None:
        stages = stages.filter(pl.col("time") >= rating.valid_from)
    q = rating.curve.discharge(stages["value"].to_numpy())
    return stages.with_columns(
        pl.lit(rating.derived_variable).alias("variable"),
        pl.Series("value", q),
        pl.lit("m3/s").alias("unit"),
        pl.lit(f"derived: rating curve on {rating.curve.gaugings} gaugings").alias("quality"),
    ).filter(pl.col("value").is_not_nan())


def _log_load(
    store: Lakehouse,
    concept: str,
    entry: BronzeEntry,
    rows: int,
    result: AppendResult,
    quarantined: int,
    run_id: str,
) -> None:
    log = pa.table(
        {
            "source_sha256": [entry.sha256],
            "file": [entry.relative_path],
            "rows": [rows],
            "new": [result.new],
            "revised": [result.revised],
            "unchanged": [result.unchanged],
            "quarantined": [quarantined],
            "run_id": [run_id],
            "loaded_at": [dt.datetime.now(dt.UTC)],
        },
        schema=LOADS_SCHEMA,
    )
    write_deltalake(store.table_uri(concept, "loads"), log, mode="append")


def _located_before(store: Lakehouse, concept: str) -> dict[str, Station]:
    """Stations located by earlier files (a later run may load no file that locates them)."""
    table = open_table(store.table_uri(concept, "stations"))
    if table is None:
        return {}
    rows = table.to_pyarrow_table(columns=["feature_id", "name", "bbox_xmin", "bbox_ymin"])
    return {
        r["feature_id"]: Station(r["feature_id"], r["name"], x=r["bbox_xmin"], y=r["bbox_ymin"])
        for r in rows.to_pylist()
        if r["bbox_xmin"] is not None and np.isfinite(r["bbox_xmin"])
    }


def write_stations(store: Lakehouse, concept: str, known: dict[str, Station]) -> None:
    """The stations table: location (Lambert-93), variables and time span of every station
    with observations; a station the files and the fiche do not locate has no geometry."""
    current = current_observations(store.table_uri(concept, "observations"))
    if current.is_empty():
        ensure_table(store.table_uri(concept, "stations"), STATIONS_SCHEMA)
        return
    spans = (
        current.group_by("station")
        .agg(
            pl.col("variable").unique().sort().str.join(",").alias("variables"),
            pl.col("time").min().alias("first_time"),
            pl.col("time").max().alias("last_time"),
            pl.len().alias("observations"),
        )
        .sort("station")
    )
    codes = spans["station"].to_list()
    known = {**_located_before(store, concept), **known}
    to_l93 = pyproj.Transformer.from_crs("EPSG:4326", TARGET_CRS, always_xy=True)
    xy = []
    for code in codes:
        s = known.get(code)
        if s is not None and s.x is not None and s.y is not None:
            xy.append((s.x, s.y))
        elif s is not None and s.lon is not None and s.lat is not None:
            xy.append(to_l93.transform(s.lon, s.lat))
        else:
            xy.append((np.nan, np.nan))
    x = np.array([p[0] for p in xy])
    y = np.array([p[1] for p in xy])
    located = np.isfinite(x) & np.isfinite(y)
    points = shapely.points(np.where(located, x, 0), np.where(located, y, 0))
    wkb = [shapely.to_wkb(p) if ok else None for p, ok in zip(points, located, strict=True)]
    tiles = tile_array(np.where(located, x, 0), np.where(located, y, 0))
    table = pa.table(
        {
            "feature_id": codes,
            "name": [known[c].name if c in known else None for c in codes],
            "variables": spans["variables"].to_list(),
            "first_time": spans["first_time"].to_arrow(),
            "last_time": spans["last_time"].to_arrow(),
            "observations": spans["observations"].to_arrow().cast(pa.int64()),
            "geometry": pa.array(wkb, pa.binary()),
            **dict(zip(BBOX_COLUMNS, (x, y, x, y), strict=True)),
            "tile": pa.array(np.where(located, tiles, None), pa.string()),
        },
        schema=STATIONS_SCHEMA,
    )
    uri = store.table_uri(concept, "stations")
    if not holds_already(uri, table, {}):
        write_deltalake(uri, table, mode="overwrite", schema_mode="overwrite")
