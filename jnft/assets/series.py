"""Time-series concepts (gauges, tide gauges): an unpartitioned silver asset per fiche that
appends new observations, derives discharges from the rating curve, and checks the criteria."""

import datetime as dt
import fnmatch
from pathlib import Path

import dagster as dg
import polars as pl

from jnft.assets.checks import criteria_check_results, criteria_check_specs
from jnft.assets.metadata import png_markdown
from jnft.formats import preview
from jnft.formats.series import Station, read_delimited, read_hubeau, to_si
from jnft.ingest.bronze import BronzeEntry, read_manifest
from jnft.ingest.rating import RatingCurve, fit_rating_curve
from jnft.ingest.series import SeriesReport, StageToDischarge, ingest_series
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import Fiche, RatingSpec
from jnft.quality.observe import observe


def _entries(store: Lakehouse, fiche: Fiche, pattern: str) -> list[BronzeEntry]:
    """The landed files of the source that match a pattern (a source may hold several kinds)."""
    return [
        e
        for e in read_manifest(store, fiche.source.name)
        if fnmatch.fnmatch(e.relative_path, pattern)
    ]


def fit_rating(store: Lakehouse, fiche: Fiche, spec: RatingSpec) -> StageToDischarge:
    """The rating curve of the latest landed gaugings file."""
    entries = _entries(store, fiche, spec.gaugings)
    if not entries:
        raise FileNotFoundError(f"no landed gaugings file matches {spec.gaugings!r}")
    latest = entries[-1]
    frame = pl.read_csv(latest.bronze_path, separator=spec.delimiter, infer_schema_length=None)
    if spec.since_year is not None:
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


def ingest(store: Lakehouse, fiche: Fiche, run_id: str) -> tuple[SeriesReport, RatingCurve | None]:
    spec = fiche.timeseries
    assert spec is not None
    if fiche.source.format == "HUBEAU-JSON":
        read = read_hubeau
    else:
        form = spec.delimited()

        def read(path: Path):
            return read_delimited(path, form)

    stations = {code: Station(code, s.name, x=s.x, y=s.y) for code, s in spec.stations.items()}
    rating = fit_rating(store, fiche, spec.rating_curve) if spec.rating_curve else None
    report = ingest_series(
        store,
        fiche.id,
        _entries(store, fiche, fiche.source.pattern),
        read,
        run_id=run_id,
        stations=stations,
        rating=rating,
    )
    return report, rating.curve if rating else None


def _rating_markdown(curve: RatingCurve) -> str:
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


def build_series_asset(fiche: Fiche, deps: list[dg.AssetKey], key: dg.AssetKey):
    @dg.asset(
        key=key,
        group_name=fiche.group,
        deps=deps,
        description=f"**{fiche.title}** — {fiche.description}",
        owners=fiche.owners,
        tags={"role": fiche.role, "theme": fiche.theme, "layer": "silver"},
        kinds={"delta", "timeseries"},
        required_resource_keys={"lakehouse"},
        metadata={"concept": fiche.id, "role": fiche.role, "kind": fiche.kind},
        check_specs=criteria_check_specs(fiche, key, None),
    )
    def _series(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = context.resources.lakehouse.store()
        report, curve = ingest(store, fiche, context.run.run_id)
        current = current_observations(store.table_uri(fiche.id, "observations"))
        metadata = {
            "dagster/row_count": current.height,
            "dagster/uri": dg.MetadataValue.path(store.table_uri(fiche.id, "observations")),
            "stations": current["station"].n_unique(),
            "variables": dg.MetadataValue.json(sorted(current["variable"].unique().to_list())),
            "files_loaded": dg.MetadataValue.json(report.loaded),
            "new": report.new,
            "revised": report.revised,
            "quarantined": report.quarantined,
            "derived_discharges": report.derived,
            "rejected_files": dg.MetadataValue.json(report.rejected_files),
        }
        if current.height:
            metadata["first_time"] = current["time"].min().isoformat()
            metadata["last_time"] = current["time"].max().isoformat()
            metadata["preview"] = png_markdown(
                preview.series_preview(current, fiche.title), "series preview"
            )
        if curve is not None:
            metadata["rating_curve"] = dg.MetadataValue.md(_rating_markdown(curve))
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=criteria_check_results(
                fiche, observe(store, fiche, None, rows=current.to_arrow())
            ),
        )

    return _series
