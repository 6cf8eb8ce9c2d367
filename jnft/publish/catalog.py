"""The static STAC catalog of the lakehouse: one collection per public concept, carrying the
fiche's criteria (licence, providers, extent, `proj` and `version` extensions), and one item per
tile and vintage pointing at the lakehouse files. Validated offline with stac-pydantic."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import cast

import polars as pl
import pyproj
import pystac
from pydantic import BaseModel
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.version import VersionExtension
from stac_pydantic import Catalog, Collection, Item

from jnft.kinds import kind_of
from jnft.lakehouse.delta import frame_of, open_table
from jnft.lakehouse.history import history
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.swap import commit_point, staging_folder, swap_in
from jnft.quality.fiche import Fiche
from jnft.tiles import TARGET_CRS, tile_bounds

_MODELS: dict[str, type[BaseModel]] = {
    "Catalog": Catalog,
    "Collection": Collection,
    "Feature": Item,
}


def _to_lonlat(bounds: tuple[float, float, float, float]) -> list[float]:
    transformer = pyproj.Transformer.from_crs(TARGET_CRS, "EPSG:4326", always_xy=True)
    return [round(v, 7) for v in transformer.transform_bounds(*bounds, densify_pts=21)]


def _box(bbox: list[float]) -> dict:
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _collection(fiche: Fiche, rows: pl.DataFrame) -> pystac.Collection:
    criteria = fiche.criteria
    bounds = cast(  # polars types a column's min and max as any Python scalar
        tuple[float, float, float, float],
        (
            rows["bbox_xmin"].min(),
            rows["bbox_ymin"].min(),
            rows["bbox_xmax"].max(),
            rows["bbox_ymax"].max(),
        ),
    )
    first = min(rows["vintage"].to_list())
    collection = pystac.Collection(
        id=fiche.id,
        title=fiche.title,
        description=fiche.description,
        license=criteria.c05_licence.licence,
        providers=[
            pystac.Provider(
                criteria.c02_provenance.producer,
                roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.LICENSOR],
                url=criteria.c02_provenance.url,
            ),
            pystac.Provider(
                "jnft", roles=[pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.HOST]
            ),
        ],
        extent=pystac.Extent(
            pystac.SpatialExtent([_to_lonlat(bounds)]),
            pystac.TemporalExtent([[dt.datetime.combine(first, dt.time(), dt.UTC), None]]),
        ),
        keywords=[fiche.theme, fiche.role],
        extra_fields={
            "jnft:role": fiche.role,
            "jnft:criteria": json.loads(criteria.model_dump_json(exclude_none=True)),
        },
    )
    return collection


def _items(
    fiche: Fiche, rows: pl.DataFrame, store: Lakehouse, collection: pystac.Collection
) -> list[pystac.Item]:
    """One item per tile and vintage still holding current rows, in the tile's footprint."""
    items = []
    kind = kind_of(fiche)
    # A grid's index has one row per tile and vintage, whose COGs its kind names; a layer's
    # item points at its gold snapshot.
    groups = rows.group_by(["tile", "vintage"]).agg(
        pl.len().alias("rows"), pl.all().exclude("tile", "vintage", "geometry").first()
    )
    for row in groups.sort(["tile", "vintage"]).iter_rows(named=True):
        bounds = tile_bounds(row["tile"])
        lonlat = _to_lonlat(bounds)
        item = pystac.Item(
            id=f"{fiche.id}-{row['tile']}-{row['vintage']}",
            geometry=_box(lonlat),
            bbox=lonlat,
            datetime=dt.datetime.combine(row["vintage"], dt.time(), dt.UTC),
            properties={"jnft:tile": row["tile"], "jnft:rows": row["rows"]},
            collection=collection.id,
        )
        ProjectionExtension.ext(item, add_if_missing=True).apply(code=TARGET_CRS, bbox=list(bounds))
        for name, asset in kind.stac_assets(store, fiche, row).items():
            item.add_asset(name, asset)
        item.add_asset(
            "history",
            pystac.Asset(
                store.table_uri(fiche.id, "versions"),
                roles=["metadata"],
                title="Delta table of every version",
            ),
        )
        items.append(item)
    return items


def _series_collection(fiche: Fiche, store: Lakehouse) -> pystac.Collection | None:
    """A series concept: one item per located station, pointing at the observations table."""
    table = open_table(store.table_uri(fiche.id, "stations"))
    if table is None:
        return None
    stations = frame_of(table.to_pyarrow_table()).filter(pl.col("geometry").is_not_null())
    if stations.is_empty():
        return None
    stations = stations.with_columns(pl.col("first_time").dt.date().alias("vintage"))
    collection = _collection(fiche, stations)
    ProjectionExtension.add_to(collection)
    for row in stations.iter_rows(named=True):
        lon, lat = _to_lonlat((row["bbox_xmin"], row["bbox_ymin"]) * 2)[:2]
        item = pystac.Item(
            id=f"{fiche.id}-{row['feature_id']}",
            geometry={"type": "Point", "coordinates": [lon, lat]},
            bbox=[lon, lat, lon, lat],
            datetime=None,
            start_datetime=row["first_time"],
            end_datetime=row["last_time"],
            properties={
                "title": row["name"] or row["feature_id"],
                "jnft:variables": row["variables"].split(","),
                "jnft:observations": row["observations"],
            },
            collection=collection.id,
        )
        item.add_asset(
            "observations",
            pystac.Asset(
                store.table_uri(fiche.id, "observations"),
                roles=["data"],
                title="Delta table of every observation (append-only)",
            ),
        )
        collection.add_item(item)
    return collection


def build_catalog(store: Lakehouse, fiches: list[Fiche]) -> Path:
    """Write the catalog (public concepts only), validate it, and swap it in as `catalog/`;
    return its root file. A catalog that does not validate is never published."""
    catalog = pystac.Catalog(
        "jnft",
        "The geo-concepts of the territory, by tile and vintage.",
        title="jnft — jumeau numérique du territoire",
    )
    for fiche in fiches:
        kind = kind_of(fiche)
        footprint = kind.footprint
        if not fiche.is_public or footprint == "none":  # restricted data never reaches the
            continue  # catalog; attribute tables have no footprint of their own
        if not kind.exists(store, fiche):
            continue  # nothing landed yet (its only files quarantined, say)
        if footprint == "stations":
            collection = _series_collection(fiche, store)
            if collection is not None:
                catalog.add_child(collection)
            continue
        rows = frame_of(
            history(store.table_uri(fiche.id, "versions"), store.table_uri(fiche.id, "closures"))
        )
        current = rows.filter(pl.col("valid_to").is_null())
        if current.is_empty():
            continue
        collection = _collection(fiche, current)
        ProjectionExtension.add_to(collection)
        VersionExtension.ext(collection, add_if_missing=True).apply(
            version=max(current["vintage"].to_list()).isoformat()
        )
        collection.add_items(_items(fiche, current, store, collection))
        catalog.add_child(collection)
    target = store.catalog_dir
    folder = staging_folder(target)
    catalog.normalize_hrefs(str(folder))
    catalog.make_all_asset_hrefs_relative()  # the lakehouse moves as one folder
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    problems = validate_catalog(folder)
    if problems:  # never published: the previous catalog stays
        raise ValueError("the STAC catalog does not validate: " + "; ".join(problems[:5]))
    commit_point("catalog.written")
    swap_in(folder, target)
    store.publish(target)
    return target / "catalog.json"


def validate_stac(path: Path) -> list[str]:
    """Problems of one STAC JSON document against the stac-pydantic models (offline)."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    model = _MODELS.get(document.get("type"))
    if model is None:
        return [f"{path}: unknown STAC type {document.get('type')!r}"]
    try:
        model.model_validate(document)
    except ValueError as error:
        return [f"{path}: {error}"]
    return []


def validate_catalog(root: Path) -> list[str]:
    """Problems of every JSON document under a catalog folder."""
    return [p for path in sorted(Path(root).rglob("*.json")) for p in validate_stac(path)]
