"""Sensor time series files (Hub'Eau hydrometry JSON, delimited gauge and tide-gauge records)
read to long rows `(station, variable, time, value, unit, quality)` with UTC timestamps and SI
units (m, m³/s); rows that cannot be read are split off with their reason."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from jnft.formats.errors import SourceFileError

# File units to SI: factor, SI unit.
UNITS = {
    "mm": (1e-3, "m"),
    "cm": (1e-2, "m"),
    "m": (1.0, "m"),
    "l/s": (1e-3, "m3/s"),
    "m3/s": (1.0, "m3/s"),
}
# Hub'Eau hydrometry v2 delivers stages in mm and discharges in l/s.
HUBEAU_UNITS = {"H": "mm", "Q": "l/s", "QmnJ": "l/s", "QmM": "l/s", "QIX": "l/s", "QINnJ": "l/s"}
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # spreadsheet serial day 0 (1900 date system)


@dataclass(frozen=True)
class Station:
    """A station's identity and location: WGS84 lon/lat (as Hub'Eau gives) or Lambert-93 x/y
    (as a fiche declares)."""

    code: str
    name: str | None
    lon: float | None = None
    lat: float | None = None
    x: float | None = None
    y: float | None = None


@dataclass
class Series:
    """Rows of one delivery and the stations it names; `rejected` rows cannot be read."""

    rows: pl.DataFrame  # station, variable, time (UTC), value (SI), unit, quality
    stations: dict[str, Station] = field(default_factory=dict)
    rejected: pl.DataFrame | None = None  # raw record (a struct) and reason


@dataclass(frozen=True)
class DelimitedFormat:
    """How to read a delimited text series (CSV, TSV, spreadsheet exports)."""

    time_column: str
    value_column: str
    variable: str
    unit: str
    time_format: str = "iso"  # "iso", "excel" (serial days) or a strftime pattern
    timezone: str = "UTC"  # of the file's local times
    station: str | None = None  # for files of one station
    station_column: str | None = None
    quality_column: str | None = None
    delimiter: str = ","
    comment_prefix: str | None = None
    offset_m: float = 0.0  # added after unit conversion (e.g. chart datum ZH to NGF-IGN69)


def to_si(values: pl.Expr, unit: str) -> tuple[pl.Expr, str]:
    if unit not in UNITS:
        raise SourceFileError(f"unknown unit {unit!r}; known: {sorted(UNITS)}")
    factor, si = UNITS[unit]
    return values * factor, si


def read_hubeau(path: Path) -> Series:
    """A Hub'Eau hydrometry response (`observations_tr` or `obs_elab`), any page of it."""
    try:
        payload = json.loads(Path(path).read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SourceFileError(f"{path}: not a JSON document ({error})") from error
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise SourceFileError(f"{path}: no `data` array: not a Hub'Eau response")
    if not data:
        raise SourceFileError(f"{path}: the response holds no observation")
    frame = pl.DataFrame(data, infer_schema_length=None)
    elaborated = "date_obs_elab" in frame.columns
    time, value, variable, quality = (
        ("date_obs_elab", "resultat_obs_elab", "grandeur_hydro_elab", "libelle_qualification")
        if elaborated
        else ("date_obs", "resultat_obs", "grandeur_hydro", "libelle_qualification_obs")
    )
    missing = [c for c in ("code_station", time, value, variable) if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{path}: Hub'Eau fields {missing} are missing")
    unknown = sorted(set(frame[variable].drop_nulls().unique()) - set(HUBEAU_UNITS))
    if unknown:
        raise SourceFileError(f"{path}: unknown Hub'Eau quantities {unknown}")
    factor = pl.col(variable).replace_strict(
        {k: UNITS[u][0] for k, u in HUBEAU_UNITS.items()}, default=None
    )
    unit = pl.col(variable).replace_strict(
        {k: UNITS[u][1] for k, u in HUBEAU_UNITS.items()}, default=None
    )
    parsed = frame.with_columns(
        pl.col(time)
        .cast(pl.String)
        .str.to_datetime(time_zone="UTC", strict=False)
        .dt.cast_time_unit("us")
        .alias("_time"),
        pl.col(value).cast(pl.Float64, strict=False).alias("_value"),
    )
    rows = parsed.select(
        pl.col("code_station").cast(pl.String).alias("station"),
        pl.col(variable).alias("variable"),
        pl.col("_time").alias("time"),
        (pl.col("_value") * factor).alias("value"),
        unit.alias("unit"),
        (pl.col(quality) if quality in frame.columns else pl.lit(None))
        .cast(pl.String)
        .alias("quality"),
    )
    stations = {}
    if {"longitude", "latitude"} <= set(frame.columns):
        first = frame.group_by("code_station").agg(pl.col("longitude", "latitude").first())
        for code, lon, lat in first.iter_rows():
            stations[code] = Station(code, None, lon, lat)
    return _split_unreadable(rows, frame, stations)


def read_delimited(path: Path, spec: DelimitedFormat) -> Series:
    """A delimited text series; times to UTC, values to SI units plus the datum offset."""
    try:
        frame = pl.read_csv(
            path,
            separator=spec.delimiter,
            comment_prefix=spec.comment_prefix,
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as error:
        raise SourceFileError(f"{path}: not a readable delimited text file ({error})") from error
    frame = frame.rename({c: c.strip() for c in frame.columns})
    needed = [spec.time_column, spec.value_column, spec.station_column, spec.quality_column]
    missing = [c for c in needed if c is not None and c not in frame.columns]
    if missing:
        raise SourceFileError(f"{path}: columns {missing} not found in {frame.columns}")
    if frame.is_empty():
        raise SourceFileError(f"{path}: the file holds no observation")
    text = pl.col(spec.value_column).str.strip_chars().str.replace(",", ".")  # decimal comma
    value, unit = to_si(text.cast(pl.Float64, strict=False), spec.unit)
    rows = frame.select(
        (pl.col(spec.station_column) if spec.station_column else pl.lit(spec.station))
        .cast(pl.String)
        .alias("station"),
        pl.lit(spec.variable).alias("variable"),
        _parse_time(pl.col(spec.time_column).str.strip_chars(), spec).alias("time"),
        (value + spec.offset_m).alias("value"),
        pl.lit(unit).alias("unit"),
        (pl.col(spec.quality_column) if spec.quality_column else pl.lit(None))
        .cast(pl.String)
        .alias("quality"),
    )
    if rows["station"].null_count() == rows.height:
        raise SourceFileError(f"{path}: no station: declare one (station) or its column")
    return _split_unreadable(rows, frame, {})


def _parse_time(text: pl.Expr, spec: DelimitedFormat) -> pl.Expr:
    if spec.time_format == "excel":
        days = text.str.replace(",", ".").cast(pl.Float64, strict=False)
        local = pl.lit(EXCEL_EPOCH) + pl.duration(
            microseconds=(days * 86_400_000_000).round(0).cast(pl.Int64)
        )
    elif spec.time_format == "iso":
        local = text.str.to_datetime(strict=False, time_unit="us")
    else:
        local = text.str.to_datetime(spec.time_format, strict=False, time_unit="us")
    if spec.time_format == "iso":
        # ISO text may carry its own offset; naive ISO text is in the declared zone.
        return pl.coalesce(
            text.str.to_datetime(time_zone="UTC", strict=False, time_unit="us"),
            _localize(local, spec.timezone),
        )
    return _localize(local, spec.timezone)


def _localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    # A time repeated when clocks go back is taken as the first; one skipped is null (rejected).
    return (
        naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
    )


def _split_unreadable(
    rows: pl.DataFrame, raw: pl.DataFrame, stations: dict[str, Station]
) -> Series:
    """Rows whose time or value cannot be read go to `rejected`, with the raw record."""
    bad = rows["time"].is_null() | rows["value"].is_null() | rows["station"].is_null()
    if not bad.any():
        return Series(rows, stations)
    reasons = [
        "unreadable time" if t is None else "unreadable value" if v is None else "no station"
        for t, v, s in rows.filter(bad).select("time", "value", "station").iter_rows()
    ]
    rejected = pl.DataFrame({"record": raw.filter(bad).to_struct(), "reason": reasons})
    return Series(rows.filter(~bad), stations, rejected)
