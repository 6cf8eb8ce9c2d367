"""The pygeoapi configuration, generated from the fiches and the lakehouse: one Features
collection per public vector concept (current rows, history by `datetime`), one per public
series' stations, the `flood-scenario` process and its job manager. A restricted concept
(`fiche.is_public` False) never appears. Validated with pygeoapi's own schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyproj
from pygeoapi.config import validate_config
from pygeoapi.openapi import get_oas, validate_openapi_document

from jnft.ogcapi.process import PROCESS_ID, processor_definition
from jnft.ogcapi.provider import cursor
from jnft.quality.criteria import LICENCES
from jnft.quality.fiche import Fiche
from jnft.settings import Settings
from jnft.tiles import TARGET_CRS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/" + TARGET_CRS.split(":")[1]
CRS_LIST = [
    CRS84,
    STORAGE_CRS,
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
]
PROVIDER = "jnft.ogcapi.provider.LakehouseProvider"
MAPS_PATH = "maps"  # where the app serves the flood maps (gold/simulation/)
# Where the licences a fiche may name are published (restricted concepts are never served).
LICENCE_URLS = {
    "etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "etalab-1.0": "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}


def _lonlat(bounds: tuple[float, float, float, float]) -> list[float]:
    transformer = pyproj.Transformer.from_crs(TARGET_CRS, "EPSG:4326", always_xy=True)
    return [round(v, 7) for v in transformer.transform_bounds(*bounds, densify_pts=21)]


def _extents(database: Path, history: str, start: str, end: str | None) -> dict[str, Any] | None:
    """Spatial (CRS84) and temporal extents of a view's rows (open-ended without `end`: a
    layer is valid until its next vintage); None when it has none."""
    last = f'max("{end}")' if end else "NULL"
    with cursor(database) as con:
        row = con.execute(
            f"SELECT min(bbox_xmin), min(bbox_ymin), max(bbox_xmax), max(bbox_ymax), "
            f'min("{start}"), {last} FROM "{history}"'
        ).fetchone()
    if row is None or row[0] is None:
        return None
    first, last = row[4], row[5]
    return {
        "spatial": {"bbox": _lonlat(row[:4]), "crs": CRS84},
        "temporal": {
            "begin": first if isinstance(first, dt.datetime) else None,
            "end": last if isinstance(last, dt.datetime) else None,
        },
    }


def _views(database: Path) -> set[str]:
    with cursor(database) as con:
        rows = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database()"
        ).fetchall()
    return {name for (name,) in rows}


def _collection(
    fiche: Fiche, database: Path, table: str, history: str, validity: tuple[str, str]
) -> dict[str, Any] | None:
    # A layer's history stays open (its current rows); a series ends at its last observation.
    extents = _extents(database, history, validity[0], None if table != history else validity[1])
    if extents is None:
        return None
    licence = fiche.criteria.c05_licence
    provenance = fiche.criteria.c02_provenance
    links = [
        {
            "type": "text/html",
            "rel": "license",
            "title": LICENCES[licence.licence],
            "href": LICENCE_URLS[licence.licence],
        },
        {
            "type": "text/html",
            "rel": "describedby",
            "title": f"{provenance.producer} — {provenance.dataset}",
            "href": provenance.url or provenance.identifier,
        },
    ]
    return {
        "type": "collection",
        "title": fiche.title,
        "description": " ".join(fiche.description.split()),
        "keywords": [fiche.theme, fiche.role, fiche.kind],
        "links": links,
        "extents": extents,
        "providers": [
            {
                "type": "feature",
                "name": PROVIDER,
                "data": str(database),
                "table": table,
                "history": history,
                "valid_from": validity[0],
                "valid_to": validity[1],
                "id_field": "feature_id",
                "title_field": "feature_id",
                "storage_crs": STORAGE_CRS,
                "crs": CRS_LIST,
            }
        ],
    }


def collections(fiches: list[Fiche], database: Path) -> dict[str, dict[str, Any]]:
    """The Features collections of the public concepts that have rows in the lakehouse: a
    layer's current rows and history; a series' stations, valid over their observations."""
    views = _views(database)
    found = {}
    for fiche in fiches:
        if not fiche.is_public:  # restricted data never leaves the lakehouse
            continue
        if fiche.kind == "vector" and f"{fiche.id}_history" in views:
            resource = _collection(
                fiche, database, fiche.id, f"{fiche.id}_history", ("valid_from", "valid_to")
            )
        elif fiche.kind == "timeseries" and f"{fiche.id}_stations" in views:
            stations = f"{fiche.id}_stations"
            resource = _collection(fiche, database, stations, stations, ("first_time", "last_time"))
        else:
            continue
        if resource is not None:
            found[fiche.id] = resource
    return found


def build_config(
    settings: Settings, fiches: list[Fiche], url: str, state_dir: Path
) -> dict[str, Any]:
    """The pygeoapi configuration of the project's lakehouse, served at `url`; jobs are kept
    in `state_dir`."""
    database = settings.lakehouse / "lakehouse.duckdb"
    outputs = state_dir / "results"
    outputs.mkdir(parents=True, exist_ok=True)
    resources: dict[str, Any] = collections(fiches, database)
    process = processor_definition(settings, maps_url=f"{url.rstrip('/')}/{MAPS_PATH}")
    resources[PROCESS_ID] = {"type": "process", "processor": process}
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},  # unused: the app is served by its host
            "url": url.rstrip("/"),
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "fr-FR",
            "languages": ["fr", "en"],
            "cors": True,
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000},
            "map": {
                "url": "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&FORMAT=image/png"
                "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
                "attribution": "IGN-F/Géoportail",
            },
            "manager": {
                "name": "TinyDB",
                "connection": str(state_dir / "jobs.json"),
                "output_dir": str(outputs),
            },
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "jnft — jumeau numérique du territoire",
                "description": "The public geo-concepts of the territory, current or as of a "
                "date, and its flood scenarios.",
                "keywords": ["jumeau numérique", "inondation", "BD TOPO", "lakehouse"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
                "url": url,
            },
            "license": {
                "name": "Licence Ouverte 2.0 (Etalab), unless a collection says otherwise",
                "url": LICENCE_URLS["etalab-2.0"],
            },
            "provider": {"name": "jnft", "url": url},
            "contact": {"name": "team:geodata"},
        },
        "resources": resources,
    }


def checked(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration, validated against pygeoapi's schema (raises with the field)."""
    validate_config(config)
    return config


def openapi_document(config: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0 document pygeoapi generates for the configuration, validated."""
    document: dict[str, Any] = get_oas(config, fail_on_invalid_collection=True)
    validate_openapi_document(document)
    return document
