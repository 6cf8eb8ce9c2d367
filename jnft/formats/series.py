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
ROW_COLUMNS = ("station", "variable", "time", "value", "unit", "quality")
MISSING_VALUES = ("", "NA", "N/A", "NaN", "null", "-")
# ISO 8601 forms, each read explicitly: polars would infer one pattern from the first row and
# lose every row written in another form. Text is normalized first (`T`, `Z` as +00:00).
ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z")
ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


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
    rejected: pl.DataFrame | None = None  # raw record (a struct) and every reason, joined
    time_formats: dict[str, int] = field(default_factory=dict)  # rows read by each format


@dataclass(frozen=True)
class DelimitedFormat:
    """How to read a delimited text series (CSV, TSV, spreadsheet exports)."""

    time_column: str
    value_column: str
    variable: str
    unit: str
    # "iso", "excel" (serial days) or a strftime pattern; several are tried in order, each row
    # taking the first that reads it.
    time_format: str | tuple[str, ...] = "iso"
    timezone: str = "UTC"  # of the file's local times
    station: str | None = None  # for files of one station
    station_column: str | None = None
    quality_column: str | None = None
    delimiter: str = ","
    comment_prefix: str | None = None
    offset_m: float = 0.0  # added after unit conversion (e.g. chart datum ZH to NGF-IGN69)
    # Texts meaning "no value" (compared case-insensitively, blanks stripped).
    missing_values: tuple[str, ...] = MISSING_VALUES
    # (variable, column) pairs landed beside the value in the same unit, e.g. the bounds of an
    # annual maximum's uncertainty; a missing one is no observation, not an error.
    extra_columns: tuple[tuple[str, str], ...] = ()

    @property
    def time_formats(self) -> tuple[str, ...]:
        return (self.time_format,) if isinstance(self.time_format, str) else self.time_format


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
        pl.col(time).cast(pl.String).alias("_time_text"),
        pl.col(value).cast(pl.String).alias("_value_text"),
    )
    stations = {}
    if {"longitude", "latitude"} <= set(frame.columns):
        first = frame.group_by("code_station").agg(pl.col("longitude", "latitude").first())
        for code, lon, lat in first.iter_rows():
            stations[code] = Station(code, None, lon, lat)
    series = _split_unreadable(rows, frame, stations, "ISO 8601", MISSING_VALUES)
    series.time_formats = {"iso": series.rows.height}
    return series


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
    extra = [column for _, column in spec.extra_columns]
    needed = [spec.time_column, spec.value_column, spec.station_column, spec.quality_column, *extra]
    missing = [c for c in needed if c is not None and c not in frame.columns]
    if missing:
        raise SourceFileError(f"{path}: columns {missing} not found in {frame.columns}")
    if frame.is_empty():
        raise SourceFileError(f"{path}: the file holds no observation")
    time_text = pl.col(spec.time_column).str.strip_chars()
    times = [_parse_time(time_text, form, spec.timezone) for form in spec.time_formats]
    read_by = pl.coalesce(
        pl.when(time.is_not_null()).then(pl.lit(form))
        for form, time in zip(spec.time_formats, times, strict=True)
    )
    common = [
        (pl.col(spec.station_column) if spec.station_column else pl.lit(spec.station))
        .cast(pl.String)
        .alias("station"),
        pl.coalesce(times).alias("time"),
        (pl.col(spec.quality_column) if spec.quality_column else pl.lit(None))
        .cast(pl.String)
        .alias("quality"),
        time_text.alias("_time_text"),
        read_by.alias("_read_by"),
        pl.struct(pl.all()).alias("_record"),
    ]
    parts = []
    for variable, column in [(spec.variable, spec.value_column), *spec.extra_columns]:
        text = pl.col(column).str.strip_chars()
        # Decimal comma read as a point; a missing text stays null (no value, no error).
        value, unit = to_si(text.str.replace(",", ".").cast(pl.Float64, strict=False), spec.unit)
        part = frame.select(
            *common,
            pl.lit(variable).alias("variable"),
            (value + spec.offset_m).alias("value"),
            pl.lit(unit).alias("unit"),
            text.alias("_value_text"),
        )
        if column != spec.value_column:
            part = part.filter(~_is_missing(pl.col("_value_text"), spec.missing_values))
        parts.append(part)
    rows = pl.concat(parts)
    if rows["station"].null_count() == rows.height:
        raise SourceFileError(f"{path}: no station: declare one (station) or its column")
    series = _split_unreadable(
        rows.drop("_record"),
        rows.select(pl.col("_record").struct.unnest()),
        {},
        ", ".join(spec.time_formats),
        spec.missing_values,
    )
    records = series.rows.filter(pl.col("variable") == spec.variable)  # one per file row
    used = records["_read_by"].value_counts(sort=True)
    series.time_formats = {form: count for form, count in used.iter_rows()}
    series.rows = series.rows.select(ROW_COLUMNS)
    return series


def _parse_time(text: pl.Expr, form: str, timezone: str) -> pl.Expr:
    """UTC times of one format: naive local times in `timezone`, ISO text with its offset."""
    if form == "excel":
        days = text.str.replace(",", ".").cast(pl.Float64, strict=False)
        local = pl.lit(EXCEL_EPOCH) + pl.duration(
            microseconds=(days * 86_400_000_000).round(0).cast(pl.Int64)
        )
        return _localize(local, timezone)
    if form != "iso":
        return _localize(text.str.to_datetime(form, strict=False, time_unit="us"), timezone)
    iso = text.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T").str.replace(r"Z$", "+00:00")
    aware = [
        iso.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC") for f in ISO_AWARE
    ]
    naive = [iso.str.to_datetime(f, strict=False, time_unit="us") for f in ISO_NAIVE]
    return pl.coalesce(*aware, _localize(pl.coalesce(naive), timezone))


def _localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    # A time repeated when clocks go back is taken as the first; one skipped is null (rejected).
    return (
        naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
    )


def _is_missing(text: pl.Expr, missing: tuple[str, ...]) -> pl.Expr:
    return text.is_null() | text.str.strip_chars().str.to_lowercase().is_in(
        [m.lower() for m in missing]
    )


def _split_unreadable(
    rows: pl.DataFrame,
    raw: pl.DataFrame,
    stations: dict[str, Station],
    formats: str,
    missing: tuple[str, ...],
) -> Series:
    """Rows without a time, a value or a station go to `rejected` with the raw record and
    every reason (joined by "; "); `rows` holds the raw `_time_text` and `_value_text`."""
    time_missing = _is_missing(pl.col("_time_text"), missing)
    value_missing = _is_missing(pl.col("_value_text"), missing)
    reasons = rows.select(
        pl.concat_list(
            pl.when(pl.col("time").is_null() & time_missing).then(pl.lit("missing time")),
            pl.when(pl.col("time").is_null() & ~time_missing).then(
                pl.format("unreadable time '{}' (formats: {})", "_time_text", pl.lit(formats))
            ),
            pl.when(pl.col("value").is_null() & value_missing).then(
                pl.format("missing value '{}'", pl.col("_value_text").fill_null(""))
            ),
            pl.when(pl.col("value").is_null() & ~value_missing).then(
                pl.format("unreadable value '{}'", "_value_text")
            ),
            pl.when(pl.col("station").is_null()).then(pl.lit("no station")),
        )
        .list.drop_nulls()
        .list.join("; ")
        .alias("reason")
    )["reason"]
    rows = rows.drop("_time_text", "_value_text")
    bad = reasons != ""
    if not bad.any():
        return Series(rows, stations)
    rejected = pl.DataFrame({"record": raw.filter(bad).to_struct(), "reason": reasons.filter(bad)})
    return Series(rows.filter(~bad), stations, rejected)
