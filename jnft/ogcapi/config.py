"""The pygeoapi configuration, generated from the fiches and the lakehouse: one Features
collection per public vector concept (current rows, history by `datetime`), one per public
series' stations with their observations as EDR queries, one Coverages collection per public
raster concept (or product) and per flood scenario's depth map, the Records collection of the
STAC catalog, the `flood-scenario` process and its job manager. A restricted concept
(`fiche.is_public` False) never appears. Validated with pygeoapi's own schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyproj
import rasterio
from pygeoapi.config import validate_config
from pygeoapi.openapi import get_oas, validate_openapi_document

from jnft.lakehouse.store import Lakehouse
from jnft.ogcapi import coverage, mosaic, records, series
from jnft.ogcapi.process import PROCESS_ID, processor_definition
from jnft.ogcapi.provider import cursor
from jnft.quality.criteria import LICENCES
from jnft.quality.fiche import Fiche
from jnft.settings import Settings
from jnft.simulation.scenario import load_scenario
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
CATALOGUE = "catalogue"
FLOOD_PRODUCT = "max_depth"  # the flood results served as coverages, one per scenario
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


def _fiche_links(fiche: Fiche) -> list[dict[str, str]]:
    """A concept's licence and provenance, as the links of its collections."""
    licence = fiche.criteria.c05_licence
    provenance = fiche.criteria.c02_provenance
    return [
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


def _resource(
    title: str,
    description: str,
    keywords: list[str],
    links: list[dict[str, str]],
    extents: dict[str, Any],
    providers: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "type": "collection",
        "title": title,
        "description": " ".join(description.split()),
        "keywords": keywords,
        "links": links,
        "extents": extents,
        "providers": providers,
    }


def _collection(
    fiche: Fiche, database: Path, table: str, history: str, validity: tuple[str, str]
) -> dict[str, Any] | None:
    # A layer's history stays open (its current rows); a series ends at its last observation.
    extents = _extents(database, history, validity[0], None if table != history else validity[1])
    if extents is None:
        return None
    provider = {
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
    keywords = [fiche.theme, fiche.role, fiche.kind]
    return _resource(
        fiche.title, fiche.description, keywords, _fiche_links(fiche), extents, [provider]
    )


def collections(fiches: list[Fiche], database: Path) -> dict[str, dict[str, Any]]:
    """The Features collections of the public concepts that have rows in the lakehouse: a
    layer's current rows and history; a series' stations, valid over their observations,
    whose observations are its EDR queries."""
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
            if resource is not None:
                with cursor(database) as con:
                    parameters = series.parameters_of(con, fiche.id)
                resource["providers"].append(
                    series.provider_definition(database, fiche.id, parameters)
                )
        else:
            continue
        if resource is not None:
            found[fiche.id] = resource
    return found


def _cogs(
    store: Lakehouse, database: Path, sql: str, params: list[Any]
) -> list[tuple[Path, dt.date | None]]:
    """The COGs a query's (href, vintage) rows name, as local files (fetched from a bucket)."""
    with cursor(database) as con:
        rows = con.execute(sql, params).fetchall()
    return [(store.local(href), vintage) for href, vintage in rows]


def _coverage(
    title: str,
    description: str,
    keywords: list[str],
    links: list[dict[str, str]],
    cogs: list[tuple[Path, dt.date | None]],
    vrt: Path,
    parameter: dict[str, Any],
) -> dict[str, Any]:
    """A coverage collection over the mosaic of `cogs`, written at `vrt`."""
    mosaic.write_vrt([path for path, _ in cogs], vrt)
    with rasterio.open(vrt) as grid:
        bounds = tuple(grid.bounds)
    vintages = sorted(v for _, v in cogs if v is not None)
    extents: dict[str, Any] = {"spatial": {"bbox": _lonlat(bounds), "crs": CRS84}}
    if vintages:  # the oldest vintage still in the mosaic, open-ended
        begin = dt.datetime.combine(vintages[0], dt.time(), dt.UTC)
        extents["temporal"] = {"begin": begin, "end": None}
    provider = coverage.provider_definition(vrt, parameter)
    return _resource(title, description, keywords, links, extents, [provider])


def coverages(
    fiches: list[Fiche], store: Lakehouse, database: Path, scenarios: Path, folder: Path
) -> dict[str, dict[str, Any]]:
    """The Coverages collections: each public raster concept's current COG tiles (one per
    product when a concept has several, e.g. a point cloud's terrain and surface models) and
    each flood scenario's depth map, read through mosaics written in `folder` (`database`:
    the lakehouse's local copy)."""
    views = _views(database)
    found = {}
    # The current COG of each tile (and product): its latest vintage.
    latest = "QUALIFY row_number() OVER (PARTITION BY tile{} ORDER BY vintage DESC) = 1"
    for fiche in fiches:
        view = f"{fiche.id}_cog"
        if not fiche.is_public or view not in views:
            continue
        with cursor(database) as con:
            columns = {row[0] for row in con.execute(f'DESCRIBE "{view}"').fetchall()}
            products = (
                [
                    p
                    for (p,) in con.execute(
                        f'SELECT DISTINCT product FROM "{view}" ORDER BY 1'
                    ).fetchall()
                ]
                if "product" in columns
                else [None]
            )
        unit = getattr(fiche.spec, "unit", None)
        keywords = [fiche.theme, fiche.role, fiche.kind]
        for product in products:
            ident = f"{fiche.id}_{product}" if product else fiche.id
            where = "product = ?" if product else "TRUE"
            sql = f'SELECT href, vintage FROM "{view}" WHERE {where} ' + latest.format(
                ", product" if product else ""
            )
            cogs = _cogs(store, database, sql, [product] if product else [])
            if not cogs:
                continue
            title = f"{fiche.title} — {product}" if product else fiche.title
            parameter = {"id": product or fiche.id, "title": title, "unit": unit}
            found[ident] = _coverage(
                title,
                fiche.description,
                keywords,
                _fiche_links(fiche),
                cogs,
                folder / f"{ident}.vrt",
                parameter,
            )
    if "flood_maps" in views:
        with cursor(database) as con:
            maps = con.execute(
                "SELECT DISTINCT scenario, unit FROM flood_maps WHERE product = ? ORDER BY 1",
                [FLOOD_PRODUCT],
            ).fetchall()
        for scenario, unit in maps:
            ident = f"{scenario}_{FLOOD_PRODUCT}"
            declared = scenarios / f"{scenario}.yaml"
            described = load_scenario(declared) if declared.is_file() else None
            title = described.title if described else scenario
            cogs = _cogs(
                store,
                database,
                "SELECT href, NULL FROM flood_maps WHERE scenario = ? AND product = ?",
                [scenario, FLOOD_PRODUCT],
            )
            found[ident] = _coverage(
                f"{title} — hauteur d'eau maximale",
                described.description if described else f"The flood scenario {scenario}.",
                ["inondation", "hauteur d'eau", scenario],
                [],
                cogs,
                folder / f"{ident}.vrt",
                {"id": FLOOD_PRODUCT, "title": "Hauteur d'eau maximale", "unit": unit},
            )
    return found


def catalogue(
    fiches: list[Fiche], catalog: Path, url: str, served: set[str]
) -> dict[str, dict[str, Any]]:
    """The Records collection of the STAC catalog (its public concepts only); empty when no
    catalog was published."""
    root = catalog / "catalog.json"
    if not root.is_file():
        return {}
    public = [f.id for f in fiches if f.is_public]
    links = {c: f"{url.rstrip('/')}/collections/{c}" for c in public if c in served}
    provider = records.provider_definition(catalog, public, links)
    everything = records.CatalogueProvider(provider).records()
    if not everything:
        return {}
    boxes = [
        r["geometry"]["coordinates"][0] for r in everything if r["properties"]["type"] == "series"
    ]
    xs = [p[0] for ring in boxes for p in ring]
    ys = [p[1] for ring in boxes for p in ring]
    extents = {"spatial": {"bbox": [min(xs), min(ys), max(xs), max(ys)], "crs": CRS84}}
    description = (
        "The STAC catalog of the lakehouse as records: one per public concept and one per "
        "tile and vintage (or station), with their extent, time, licence and formats."
    )
    title = "Catalogue du territoire"
    keywords = ["catalogue", "STAC", "métadonnées"]
    return {CATALOGUE: _resource(title, description, keywords, [], extents, [provider])}


def build_config(
    settings: Settings, fiches: list[Fiche], url: str, state_dir: Path
) -> dict[str, Any]:
    """The pygeoapi configuration of the project's lakehouse, served at `url`; jobs are kept
    in `state_dir`."""
    store = Lakehouse.of(settings)
    database = store.fetch(store.duckdb_path)
    outputs = state_dir / "results"
    outputs.mkdir(parents=True, exist_ok=True)
    resources: dict[str, Any] = collections(fiches, database)
    resources |= coverages(fiches, store, database, settings.scenarios, state_dir / "coverages")
    resources |= catalogue(fiches, store.fetch_folder(store.catalog_dir), url, set(resources))
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
