"""The 10 criteria as checks: each compares what the fiche declares with what the data shows.

Plain functions of (fiche, observation) returning an Outcome; the asset factory turns them into
Dagster asset checks. C1, C6, C9 and C10 guard calculations: on `calcul` concepts they block.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jnft.formats.crs import horizontal
from jnft.formats.geometry import crs_of
from jnft.kinds import Observation, kind_of
from jnft.quality.criteria import LICENCES
from jnft.quality.fiche import CRITERIA, Fiche

BLOCKING = ("c01_nature", "c06_extent", "c09_quality", "c10_standard")
_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$"
)


@dataclass(frozen=True)
class Outcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)
    warning: bool = False  # passed, but worth a look (e.g. a source that has not been updated)


def duration_days(iso: str) -> float:
    """Approximate length in days of an ISO 8601 duration (a year is 365.25 days)."""
    match = _DURATION.match(iso)
    if not match:
        raise ValueError(f"{iso!r} is not an ISO 8601 duration")
    y, mo, w, d, h, mi, s = (float(g) if g else 0.0 for g in match.groups())
    return y * 365.25 + mo * 30.44 + w * 7 + d + h / 24 + mi / 1440 + s / 86400


def _quarantine_problems(obs: Observation, criterion: str) -> list[str]:
    """The latest delivery's rows quarantined against this criterion, as readable problems."""
    return [
        f"{n} source rows quarantined: {reason}"
        + (f" (e.g. {', '.join(ids)}{', …' if n > len(ids) else ''})" if ids else "")
        for reason, (n, ids) in sorted(obs.quarantined.get(criterion, {}).items())
    ]


def _no_rows(obs: Observation, what: str) -> str:
    """`what`, followed by the files rejected whole that would have given rows, and why: the
    reason is filed under its own criterion (C10 for an unreadable file, C6 for one elsewhere)."""
    if not obs.rejections:
        return what
    shown = "; ".join(obs.rejections[:2]) + ("; …" if len(obs.rejections) > 2 else "")
    return f"{what}: {len(obs.rejections)} file(s) rejected ({shown})"


def _foreign_crs(fiche: Fiche, obs: Observation) -> list[str]:
    """Stored CRSs other than the declared one (C6); heights aside, which C9's ranges see."""
    declared = horizontal(crs_of(fiche.criteria.c06_extent.crs))
    return [
        c for c in obs.crs if not horizontal(crs_of(c)).equals(declared, ignore_axis_order=True)
    ]


def c01_nature(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    nature = fiche.criteria.c01_nature
    missing = sorted(set(nature.attributes) - set(obs.columns))
    kind = kind_of(fiche)
    if kind.footprint in ("stations", "none"):  # rows of values, located elsewhere or not
        ok = obs.rows > 0 and not missing
        return Outcome(
            ok,
            f"{obs.rows} rows" + (f"; columns {missing} missing" if missing else "")
            if obs.rows
            else _no_rows(obs, "no row"),
            {"columns": obs.columns},
        )
    if kind.gridded:
        ok = obs.rows > 0 and not missing
        return Outcome(
            ok,
            f"{obs.rows} {fiche.kind} tiles" + (f"; columns {missing} missing" if missing else "")
            if obs.rows
            else _no_rows(obs, f"no {fiche.kind} tile"),
            {"tiles": obs.tiles},
        )
    if not obs.rows:
        return Outcome(
            False, _no_rows(obs, f"no {nature.feature_class} feature"), {"columns": obs.columns}
        )
    observed = sorted({t.removesuffix(" Z") for t in obs.geometry_types})
    wrong = [t for t in observed if t != nature.geometry_type]
    problems = _quarantine_problems(obs, "c01_nature")
    if wrong:
        problems.append(f"geometry types {wrong} where {nature.geometry_type} is declared")
    if missing:
        problems.append(f"declared attributes missing from the table: {missing}")
    return Outcome(
        not problems,
        "; ".join(problems)
        or f"{obs.rows} {nature.feature_class} features, {nature.geometry_type}",
        {"geometry_types": observed, "columns": obs.columns},
    )


def c02_provenance(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    untraced = sorted(obs.source_files - obs.bronze_files)
    p = fiche.criteria.c02_provenance
    metadata = {
        "producer": p.producer,
        "dataset": p.dataset,
        "identifier": p.identifier,
        "source_files": sorted(obs.source_files),
    }
    if untraced:
        return Outcome(False, f"rows trace to files absent from bronze: {untraced}", metadata)
    return Outcome(
        True,
        f"every row traces to one of {len(obs.source_files)} bronze files "
        f"of {p.producer} {p.dataset}",
        metadata,
    )


def c03_frequency(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    frequency = fiche.criteria.c03_frequency
    latest = obs.latest_vintage
    metadata: dict[str, Any] = {
        "update_frequency": frequency.update_frequency,
        "latest_vintage": latest.isoformat() if latest else None,
        "declared_last_update": frequency.last_update.isoformat()
        if frequency.last_update
        else None,
    }
    if latest is None:
        return Outcome(False, "no vintage in the lakehouse", metadata)
    if frequency.last_update and latest < frequency.last_update:
        return Outcome(
            False,
            f"the lakehouse holds vintage {latest}, the producer published "
            f"{frequency.last_update}: ingest the new edition",
            metadata,
        )
    age = (today - latest).days
    metadata["age_days"] = age
    stale = age > 2 * duration_days(frequency.update_frequency)
    return Outcome(
        True,
        f"latest vintage {latest} ({age} days old; updated every "
        f"{frequency.update_frequency})"
        + ("; older than two update periods: check for a new edition" if stale else ""),
        metadata,
        warning=stale,
    )


def c04_origin(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    method = fiche.criteria.c04_origin.acquisition_method
    ok = method in kind_of(fiche).methods
    return Outcome(
        ok,
        f"{method} data, {fiche.kind}"
        if ok
        else f"acquisition method {method!r} cannot produce {fiche.kind} data",
        {"acquisition_method": method, "kind": fiche.kind},
    )


def c05_licence(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    licence = fiche.criteria.c05_licence.licence
    leaked = not fiche.is_public and obs.gold_geo is not None
    return Outcome(
        not leaked,
        "a restricted concept has a public gold file"
        if leaked
        else f"{licence}: {LICENCES[licence]}",
        {"licence": licence, "public": fiche.is_public},
    )


def c06_extent(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    extent = fiche.criteria.c06_extent
    metadata: dict[str, Any] = {
        "territory": extent.territory,
        "declared_bbox": extent.bbox,
        "observed_bbox": list(obs.bbox) if obs.bbox else None,
        "tiles": obs.tiles,
    }
    if kind_of(fiche).footprint == "none":
        return Outcome(
            obs.rows > 0,
            f"attribute table of {obs.rows} rows keyed by code, joined to geometries in SQL",
            metadata,
        )
    if obs.bbox is None:
        return Outcome(False, _no_rows(obs, "no data"), metadata)
    if extent.bbox is not None:
        # Cells and features that straddle the edge may overflow it by their own size.
        precision = fiche.criteria.c08_precision
        slack = max(precision.resolution_m or 0.0, precision.positional_accuracy_m or 0.0)
        x0, y0, x1, y1 = extent.bbox
        bx0, by0, bx1, by1 = obs.bbox
        metadata["tolerance_m"] = slack
        if bx0 < x0 - slack or by0 < y0 - slack or bx1 > x1 + slack or by1 > y1 + slack:
            return Outcome(
                False, f"data extent {obs.bbox} overflows the declared {extent.bbox}", metadata
            )
    quarantined = _quarantine_problems(obs, "c06_extent")
    if quarantined:
        return Outcome(False, "; ".join(quarantined), metadata)
    return Outcome(True, f"within {extent.territory}, {len(obs.tiles)} tiles", metadata)


def c07_access(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    access = fiche.criteria.c07_access
    leaked = access.modality == "restricted" and obs.gold_geo is not None
    return Outcome(
        not leaked,
        "restricted access but a public gold file exists"
        if leaked
        else f"{access.modality} {access.endpoint or ''}".strip(),
        {"modality": access.modality, "endpoint": access.endpoint},
    )


def c08_precision(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    precision = fiche.criteria.c08_precision
    metadata = precision.model_dump(exclude_none=True)
    foreign = _foreign_crs(fiche, obs)
    if foreign:
        metadata["observed_crs"] = obs.crs
        return Outcome(
            False,
            f"stored in {foreign} where c06_extent.crs declares {fiche.criteria.c06_extent.crs}: "
            "resolution and density are not in the declared units",
            metadata,
        )
    if kind_of(fiche).points and precision.point_density_per_m2 is not None:
        sparse = {t: d for t, d in obs.densities.items() if d < precision.point_density_per_m2}
        metadata["observed_density_per_m2"] = obs.densities
        if sparse or not obs.densities:
            return Outcome(
                False,
                f"point density below the declared {precision.point_density_per_m2}/m² "
                f"in tiles {sparse}",
                metadata,
            )
        return Outcome(True, f"density {min(obs.densities.values()):.1f}/m² or more", metadata)
    if kind_of(fiche).gridded and precision.resolution_m is not None:
        coarse = [r for r in obs.resolutions if r > precision.resolution_m + 1e-9]
        metadata["observed_resolutions"] = obs.resolutions
        if coarse or not obs.resolutions:
            return Outcome(
                False,
                f"resolution {obs.resolutions} coarser than declared {precision.resolution_m} m",
                metadata,
            )
        return Outcome(True, f"resolution {obs.resolutions} m", metadata)
    return Outcome(True, "declared " + ", ".join(f"{k} {v}" for k, v in metadata.items()), metadata)


def c09_quality(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    """The great-expectations suite built from C9 (see quality/expectations.py)."""
    failed = [e for e in obs.expectations if not e.success]
    metadata = {
        "expectations": [
            {
                "expectation": e.expectation,
                "column": e.column,
                "success": e.success,
                "unexpected": e.unexpected_count,
            }
            for e in obs.expectations
        ]
    }
    if obs.rows == 0:
        return Outcome(False, _no_rows(obs, "no rows to check"), metadata)
    problems = [f"{e.expectation}({e.column}): {e.unexpected_count} unexpected" for e in failed]
    problems += _quarantine_problems(obs, "c09_quality")
    problems += [
        f"tile {tile}: {after} valid cells where the published version has {before} (a delivery "
        f"covering less; declare {fiche.kind}.coverage_may_shrink if that is expected)"
        for tile, (before, after) in sorted(obs.coverage_drops.items())
    ]
    problems += [f"tile {tile}: {why}" for tile, why in sorted(obs.empty_tiles.items())]
    return Outcome(
        not problems,
        "; ".join(problems) or f"{len(obs.expectations)} expectations met on {obs.rows} rows",
        metadata,
    )


def c10_standard(fiche: Fiche, obs: Observation, today: dt.date) -> Outcome:
    standard = fiche.criteria.c10_standard
    problems = list(obs.cog_problems) + _quarantine_problems(obs, "c10_standard")
    foreign = _foreign_crs(fiche, obs)
    if foreign:
        problems.append(
            f"stored in {foreign}, not the declared {fiche.criteria.c06_extent.crs} "
            "(c06_extent.crs)"
        )
    if obs.gold_geo is not None:
        column = obs.gold_geo.get("columns", {}).get("geometry", {})
        if obs.gold_geo.get("version") != "1.1.0" or column.get("encoding") != "WKB":
            problems.append("gold file is not GeoParquet 1.1 with WKB geometry")
    return Outcome(
        not problems,
        "; ".join(problems) or f"{standard.format} published as {standard.standard}",
        {"format": standard.format, "standard": standard.standard},
    )


CHECKS: dict[str, Callable[[Fiche, Observation, dt.date], Outcome]] = {
    name: globals()[name] for name in CRITERIA
}


def evaluate(fiche: Fiche, obs: Observation, today: dt.date | None = None) -> dict[str, Outcome]:
    """The outcome of each of the 10 criteria, in order.

    A tile that no delivered file covers (a point-cloud block over part of the territory)
    has nothing to check: every criterion passes with a warning saying so. When a file was
    quarantined, the tile might have been covered, and when the tile held rows before, it was:
    the criteria are then evaluated (and fail).
    """
    today = today or dt.date.today()
    if obs.rows == 0 and obs.bronze_files and not obs.rejected_files and not obs.emptied:
        note = Outcome(True, "no delivered file covers these tiles", {}, warning=True)
        return dict.fromkeys(CHECKS, note)
    return {name: check(fiche, obs, today) for name, check in CHECKS.items()}


def is_blocking(fiche: Fiche, criterion: str) -> bool:
    return fiche.role == "calcul" and criterion in BLOCKING


def blocking_failures(fiche: Fiche, outcomes: dict[str, Outcome]) -> list[str]:
    """`criterion: why` of each failed blocking check: what keeps a delivery from publication."""
    return [
        f"{name}: {outcome.description}"
        for name, outcome in outcomes.items()
        if not outcome.passed and is_blocking(fiche, name)
    ]
