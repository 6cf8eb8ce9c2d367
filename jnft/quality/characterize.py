"""Characterization of a concept from its data alone: the observable half of a fiche (geometry,
schema, extent, CRS, resolution, completeness, ranges, update history, formats), written as a
draft fiche (YAML) and a readable "fiche de caractérisation" (Markdown)."""

from __future__ import annotations

import math

import pyarrow as pa
import yaml

from jnft.kinds import Observation, kind_of
from jnft.lakehouse.delta import frame_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.checks import Outcome
from jnft.quality.fiche import Fiche
from jnft.tiles import TARGET_CRS

SYSTEM_COLUMNS = {
    "feature_id",
    "geometry",
    "bbox_xmin",
    "bbox_ymin",
    "bbox_xmax",
    "bbox_ymax",
    "tile",
    "vintage",
    "valid_from",
    "row_hash",
    "source_sha256",
    "run_id",
    "path",
    "crs",
    "resolution",
    "nodata",
    "width",
    "height",
    "valid_fraction",
    "valid_cells",
    # point-cloud index and time-series bookkeeping
    "point_count",
    "density",
    "class_histogram",
    "zmin",
    "zmax",
    "products",
    "las_files",
    "year",
    "ingested_at",
    "minimum",
    "maximum",
    "mean",
}


def _geometry_type(types: list[str], fiche: Fiche) -> str:
    """The observed geometry type: the kind's own when it has only one (a grid, a station)."""
    declared = kind_of(fiche).geometry_types
    if len(declared) == 1:
        return declared[0]
    names = {t.removesuffix(" Z") for t in types}
    multi = {n for n in names if n.startswith("Multi")}
    return sorted(multi or names)[0] if names else "Unknown"


def characterize(fiche: Fiche, rows: pa.Table, obs: Observation) -> dict:
    """The observable fields of the fiche's criteria, as the current rows and their observation
    show them."""
    frame = frame_of(rows)
    attributes = [c for c in frame.columns if c not in SYSTEM_COLUMNS]
    complete = [c for c in attributes if frame[c].null_count() == 0]
    # An attribute the source never fills (a series without quality codes) measures nothing
    # of the completeness: it is listed as empty, and without any other no share is proposed.
    empty = [c for c in attributes if frame.height and frame[c].null_count() == frame.height]
    shares = [
        1 - frame[c].null_count() / max(frame.height, 1) for c in attributes if c not in empty
    ]
    completeness = round(min(shares), 4) if shares else (None if empty else 1.0)
    numeric = [c for c in attributes if frame[c].dtype.is_numeric()]
    ranges = {
        c: [frame[c].min(), frame[c].max()] for c in numeric if frame[c].null_count() < frame.height
    }
    if kind_of(fiche).gridded and frame.height:
        ranges["value"] = [frame["minimum"].min(), frame["maximum"].max()]
    bbox = None
    if obs.bbox:
        bbox = [
            math.floor(obs.bbox[0]),
            math.floor(obs.bbox[1]),
            math.ceil(obs.bbox[2]),
            math.ceil(obs.bbox[3]),
        ]
    precision = {"resolution_m": max(obs.resolutions)} if obs.resolutions else {}
    return {
        "id": fiche.id,
        "criteria": {
            "c01_nature": {
                "geometry_type": _geometry_type(obs.geometry_types, fiche),
                "attributes": attributes,
            },
            "c03_frequency": {
                "last_update": obs.vintages[-1] if obs.vintages else None,
                "vintages": obs.vintages,
            },
            "c06_extent": {
                "crs": obs.crs[0] if obs.crs else TARGET_CRS,
                "bbox": bbox,
                "tiles": obs.tiles,
            },
            "c08_precision": precision,
            "c09_quality": {
                **({"completeness": completeness} if completeness is not None else {}),
                "required_attributes": complete,
                "ranges": ranges,
                **({"empty_attributes": empty} if empty else {}),
            },
            "c10_standard": {"format": fiche.source.format},
        },
        "observed": {"rows": obs.rows, "source_files": len(obs.source_files)},
    }


def draft_yaml(draft: dict) -> str:
    header = (
        f"# Observed fields of {draft['id']}, characterized from the lakehouse. Merge them\n"
        "# into concepts/<id>.yaml; the other fields of the 10 criteria need a person.\n"
    )
    return header + yaml.safe_dump(draft, allow_unicode=True, sort_keys=False)


def markdown(fiche: Fiche, draft: dict, outcomes: dict[str, Outcome]) -> str:
    """The fiche de caractérisation: declared and observed, criterion by criterion."""
    lines = [
        f"# Fiche de caractérisation — {fiche.title} (`{fiche.id}`)",
        "",
        f"{fiche.description}",
        "",
        f"Rôle : **{fiche.role}** · nature : {fiche.kind} · lignes courantes : "
        f"{draft['observed']['rows']}",
        "",
        "| critère | déclaré | observé | contrôle |",
        "|---|---|---|---|",
    ]
    observed = draft["criteria"]
    for name, outcome in outcomes.items():
        declared = getattr(fiche.criteria, name).model_dump(exclude_none=True)
        seen = observed.get(name, {})
        lines.append(
            f"| {name} | {_cell(declared)} | {_cell(seen) if seen else '—'} | "
            f"{'✅' if outcome.passed else '❌'} {outcome.description} |"
        )
    return "\n".join(lines) + "\n"


def _cell(values: dict) -> str:
    text = "; ".join(f"{k}: {v}" for k, v in values.items())
    return text.replace("|", "/")[:300]


def has_data(store: Lakehouse, fiche: Fiche) -> bool:
    return kind_of(fiche).exists(store, fiche)


def current_rows(store: Lakehouse, fiche: Fiche) -> pa.Table:
    """The current rows of any kind of concept (all tiles)."""
    return kind_of(fiche).current(store, fiche)
