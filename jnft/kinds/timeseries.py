"""Time-series concepts (river gauges, tide gauges): observations appended when new or revised,
stations located, stages turned into discharges by a rating curve fitted on the gaugings."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jnft.formats import preview
from jnft.formats.series import (
    MISSING_VALUES,
    UNITS,
    DelimitedFormat,
    Series,
    Station,
    read_delimited,
    read_hubeau,
    to_si,
)
from jnft.ingest.bronze import BronzeEntry, read_manifest
from jnft.ingest.rating import RatingCurve, fit_rating_curve
from jnft.ingest.series import DesignSettings, StageToDischarge, ingest_series
from jnft.kinds.base import Kind, Landing, Observation, Scope, extent
from jnft.lakehouse.bookkeeping import quarantined_rows
from jnft.lakehouse.delta import frame_of, open_table
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse
from jnft.simulation.design import Law, Sampling

if TYPE_CHECKING:
    from jnft.quality.fiche import Fiche

UnitName = Literal["mm", "cm", "m", "l/s", "m3/s"]
SERIES_TABLES = ("observations", "stations", "quarantine")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSpec(_Strict):
    """A station the files do not locate, in Lambert-93."""

    name: str | None = None
    x: float
    y: float


class RatingSpec(_Strict):
    """A stage–discharge rating curve fitted on a gaugings file (delimited text), turning the
    `stage_variable` rows into `derived_variable` rows (m³/s)."""

    gaugings: str  # glob under the sources folder; the file is landed in the source's bronze
    stage_column: str
    discharge_column: str
    stage_unit: UnitName = "m"
    discharge_unit: UnitName = "m3/s"
    delimiter: str = ","
    year_column: str | None = None
    since_year: int | None = None  # gaugings from this year on: the rating in force
    breakpoints: list[float] | None = None  # segment limits (stage, m); BIC chooses if absent
    stage_variable: str = "H"
    derived_variable: str = "Q_tarage"

    @model_validator(mode="after")
    def _since(self) -> RatingSpec:
        if self.since_year is not None and self.year_column is None:
            raise ValueError("since_year needs year_column")
        return self


class SamplingSpec(_Strict):
    """How the series was sampled: `continuous` (every observation; the frequency analysis
    takes each hydrological year's maximum), `annual_maxima` (one maximum per hydrological
    year, however few rows that is), or `peaks_over_threshold` (every independent peak above
    `threshold`, in the file's unit, over a record of `years`, or from `start` to `end`)."""

    kind: Literal["continuous", "annual_maxima", "peaks_over_threshold"] = "continuous"
    year_start_month: int = Field(default=1, ge=1, le=12)  # the hydrological year's first month
    threshold: float | None = None
    years: float | None = Field(default=None, gt=0)
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value  # `sampling: annual_maxima`

    @model_validator(mode="after")
    def _record(self) -> SamplingSpec:
        given = {f for f in ("threshold", "years", "start", "end") if getattr(self, f) is not None}
        if self.kind != "peaks_over_threshold":
            if given:
                raise ValueError(f"{', '.join(sorted(given))}: only for peaks_over_threshold")
            return self
        if self.threshold is None:
            raise ValueError("peaks_over_threshold declares its threshold (file's unit)")
        if (self.years is None) == (self.start is None or self.end is None):
            raise ValueError(
                "peaks_over_threshold declares years (the record's length) or start/end"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end comes after start")
        return self

    def record_years(self) -> float | None:
        if self.years is not None or self.start is None or self.end is None:
            return self.years
        return (self.end - self.start).days / 365.25


class DesignSpec(_Strict):
    """Design events computed at landing, per station and variable, into `design_events`."""

    return_periods: list[float] = Field(default=[10.0, 100.0, 1000.0], min_length=1)
    # Default: the series' variable (every variable of a self-describing source) when the
    # series is sampled for it (annual maxima, peaks), none for a continuous series.
    variables: list[str] | None = None
    law: Law | None = None  # default: gev for maxima, gpd for peaks
    confidence: float = Field(default=0.9, gt=0, lt=1)

    @field_validator("return_periods")
    @classmethod
    def _periods(cls, value: list[float]) -> list[float]:
        if min(value) <= 1:
            raise ValueError("return periods are years, above 1")
        return value


class TimeSeriesSpec(_Strict):
    """How a series file maps to observations; the column fields are for CSV sources
    (Hub'Eau responses describe themselves)."""

    variable: str | None = None
    unit: UnitName | None = None
    time_column: str | None = None
    value_column: str | None = None
    # iso, excel (spreadsheet serial days) or a strftime pattern; a list is tried in order, each
    # row read by the first that reads it
    time_format: str | list[str] = "iso"
    timezone: str = "UTC"
    station: str | None = None
    station_column: str | None = None
    quality_column: str | None = None
    delimiter: str = ","
    comment_prefix: str | None = None
    offset_m: float = 0.0  # vertical datum shift added to levels (e.g. ZH to NGF-IGN69)
    datum: str | None = None
    missing_values: list[str] = Field(default_factory=lambda: list(MISSING_VALUES))
    # variable: column, landed beside the value in its unit (e.g. an annual maximum's bounds)
    extra_columns: dict[str, str] = Field(default_factory=dict)
    sampling: SamplingSpec = SamplingSpec()
    design: DesignSpec = DesignSpec()
    stations: dict[str, StationSpec] = Field(default_factory=dict)
    rating_curve: RatingSpec | None = None

    @field_validator("time_format")
    @classmethod
    def _formats(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("at least one time format")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    def delimited(self) -> DelimitedFormat:
        # Called for CSV sources only, whose fiches declare these (TimeSeriesKind.check).
        assert self.time_column is not None and self.value_column is not None
        assert self.variable is not None and self.unit is not None
        return DelimitedFormat(
            time_column=self.time_column,
            value_column=self.value_column,
            variable=self.variable,
            unit=self.unit,
            time_format=(
                self.time_format if isinstance(self.time_format, str) else tuple(self.time_format)
            ),
            timezone=self.timezone,
            station=self.station,
            station_column=self.station_column,
            quality_column=self.quality_column,
            delimiter=self.delimiter,
            comment_prefix=self.comment_prefix,
            offset_m=self.offset_m,
            missing_values=tuple(self.missing_values),
            extra_columns=tuple(self.extra_columns.items()),
        )

    def sampled(self) -> Sampling:
        """The sampling in SI units (the threshold converted and shifted as the values)."""
        threshold = self.sampling.threshold
        if threshold is not None and self.unit is not None:
            threshold = threshold * UNITS[self.unit][0] + self.offset_m
        return Sampling(
            self.sampling.kind, self.sampling.year_start_month, threshold,
            self.sampling.record_years(),
        )  # fmt: skip

    def design_variables(self) -> list[str] | None:
        """The variables given design events; None: every one a self-describing source lands."""
        if self.design.variables is not None:
            return self.design.variables
        if self.sampling.kind == "continuous":
            return []
        return [self.variable] if self.variable is not None else None


def landed(store: Lakehouse, fiche: Fiche, pattern: str) -> list[BronzeEntry]:
    """The landed files of the source that match a pattern (a source may hold several kinds)."""
    return read_manifest(store, fiche.source.name, [pattern])


def fit_rating(store: Lakehouse, fiche: Fiche, spec: RatingSpec) -> StageToDischarge:
    """The rating curve of the latest landed gaugings file."""
    entries = landed(store, fiche, spec.gaugings)
    if not entries:
        raise FileNotFoundError(f"no landed gaugings file matches {spec.gaugings!r}")
    latest = entries[-1]
    frame = pl.read_csv(latest.bronze_path, separator=spec.delimiter, infer_schema_length=None)
    if spec.since_year is not None:
        assert spec.year_column is not None  # RatingSpec._since
        frame = frame.filter(pl.col(spec.year_column) >= spec.since_year)
    stage, _ = to_si(pl.col(spec.stage_column).cast(pl.Float64), spec.stage_unit)
    discharge, _ = to_si(pl.col(spec.discharge_column).cast(pl.Float64), spec.discharge_unit)
    gaugings = frame.select(stage.alias("h"), discharge.alias("q"))
    curve = fit_rating_curve(gaugings["h"].to_numpy(), gaugings["q"].to_numpy(), spec.breakpoints)
    valid_from = (
        dt.datetime(spec.since_year, 1, 1, tzinfo=dt.UTC) if spec.since_year is not None else None
    )
    return StageToDischarge(
        curve, spec.stage_variable, spec.derived_variable, valid_from, latest.sha256
    )


def rating_markdown(curve: RatingCurve) -> str:
    lines = ["| stage from (m) | to (m) | a | h0 (m) | c | gaugings |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {s.h_low:.3f} | {s.h_high:.3f} | {s.a:.4g} | {s.h0:.3f} | {s.c:.3f} | {s.gaugings} |"
        for s in curve.segments
    ]
    return (
        "Q = a·(h − h0)^c per segment; RMS log error "
        + f"{curve.rmse_log:.3f}\n\n"
        + "\n".join(lines)
    )


# How each series format is read: Hub'Eau responses describe themselves, delimited files
# follow the spec's columns.
READERS: dict[str, Callable[[TimeSeriesSpec], Callable[[Path], Series]]] = {
    "HUBEAU-JSON": lambda spec: read_hubeau,
    "CSV": lambda spec: lambda path: read_delimited(path, spec.delimited()),
}


class TimeSeriesKind(Kind[TimeSeriesSpec]):
    name = "timeseries"
    spec = TimeSeriesSpec
    formats = tuple(READERS)
    geometry_types = ("Point",)
    methods = frozenset({"sensor", "survey", "model"})
    footprint = "stations"
    tileable = False

    def check(self, fiche: Fiche) -> None:
        spec = self.spec_of(fiche)
        needed = ("time_column", "value_column", "variable", "unit")
        missing = [f for f in needed if getattr(spec, f) is None]
        if fiche.source.format == "CSV" and missing:
            raise ValueError(f"a CSV series declares timeseries.{', '.join(missing)}")

    def companion_patterns(self, fiche: Fiche) -> list[str]:
        rating = self.spec_of(
            fiche
        ).rating_curve  # its gaugings travel with the series they calibrate
        return [rating.gaugings] if rating is not None else []

    def land(self, store: Lakehouse, fiche: Fiche, scope: Scope) -> Landing:
        spec = self.spec_of(fiche)
        stations = {code: Station(code, s.name, x=s.x, y=s.y) for code, s in spec.stations.items()}
        rating = fit_rating(store, fiche, spec.rating_curve) if spec.rating_curve else None
        design = DesignSettings(
            spec.sampled(),
            spec.design_variables(),
            spec.design.return_periods,
            spec.design.law,
            spec.design.confidence,
        )
        report = ingest_series(
            store,
            fiche.id,
            landed(store, fiche, fiche.source.pattern),
            READERS[fiche.source.format](spec),
            run_id=scope.run_id,
            stations=stations,
            rating=rating,
            design=design,
        )
        uri = store.table_uri(fiche.id, "observations")
        current = current_observations(uri)
        landing = Landing(
            uri=uri,
            values={
                "dagster/row_count": current.height,
                "stations": current["station"].n_unique(),
                "variables": sorted(current["variable"].unique().to_list()),
                "files_loaded": report.loaded,
                "new": report.new,
                "revised": report.revised,
                "quarantined": report.quarantined,
                "derived_discharges": report.derived,
                "rejected_files": report.rejected_files,
                "time_formats": report.time_formats,
                "sampling": spec.sampling.kind,
                "design_events": report.design_events,
            },
            rows=current.to_arrow(),
        )
        if current.height:
            first, last = current["time"].min(), current["time"].max()
            assert isinstance(first, dt.datetime) and isinstance(last, dt.datetime)
            landing.values["first_time"] = first.isoformat()
            landing.values["last_time"] = last.isoformat()
            landing.preview = preview.series_preview(current, fiche.title)
        if rating is not None:
            landing.markdown["rating_curve"] = rating_markdown(rating.curve)
        return landing

    def exists(self, store: Lakehouse, fiche: Fiche) -> bool:
        return open_table(store.table_uri(fiche.id, "observations")) is not None

    def current(self, store: Lakehouse, fiche: Fiche, tiles: list[str] | None = None) -> pa.Table:
        return current_observations(store.table_uri(fiche.id, "observations")).to_arrow()

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        """A series is observed through its current observations and its stations table."""
        frame = frame_of(rows)
        stations = open_table(store.table_uri(fiche.id, "stations"))
        if stations is None:
            return
        located = frame_of(stations.to_pyarrow_table()).filter(pl.col("geometry").is_not_null())
        if located.height:
            obs.bbox = extent(located)
            obs.tiles = sorted(located["tile"].unique().to_list())
            obs.geometry_types = ["Point"]
        loads = open_table(store.table_uri(fiche.id, "loads"))
        if loads is not None:
            obs.source_files = set(
                loads.to_pyarrow_table(columns=["source_sha256"])["source_sha256"].to_pylist()
            )
        # The vintages are the deliveries' (a record of past floods delivered today is today's
        # edition), not the dates of their last observations.
        entries = landed(store, fiche, fiche.source.pattern)
        obs.vintages = sorted({e.vintage for e in entries if e.sha256 in obs.source_files})
        obs.checked = frame.select(
            pl.concat_str(
                pl.col("station", "variable"), pl.col("time").cast(pl.String), separator="/"
            ).alias("feature_id"),
            *[pl.col(c) for c in {"value", *fiche.criteria.c09_quality.required_attributes}],
        ).to_pandas()
        obs.checked["geometry_is_valid"] = True  # observations carry no geometry: stations do
        obs.quarantined = quarantined_rows(store, fiche.id, obs.source_files)

    def views(self, store: Lakehouse, fiche: Fiche) -> list[dict[str, str]]:
        tables = {t: store.table_uri(fiche.id, t) for t in SERIES_TABLES}
        subs = [{"kind": "timeseries", "concept": fiche.id, **tables}]
        events = store.table_uri(fiche.id, "design_events")
        if open_table(events) is not None:  # landed since series have design events
            subs.append({"kind": "timeseries_design", "concept": fiche.id, "design_events": events})
        if fiche.is_public:
            subs.append({"kind": "public", "concept": fiche.id, **tables})
        return subs
