"""A pygeoapi record provider over the lakehouse's STAC catalog (`catalog/`, written by
`jnft.publish.catalog`): one OGC API – Records record per STAC collection (a concept: type
`series`) and per STAC item (a tile and vintage, or a station: type `dataset`), searchable by
`bbox` (lon/lat), `datetime` (overlapping the record's time), `q` (words of the title,
description and keywords, regardless of case and accents) and equality on the properties.

Only the concepts the configuration lists are read: a concept restricted since the catalog was
written never shows. The catalog is read once per published version (`catalog/` is swapped in
whole, so its resolved folder names the version).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import unicodedata
from pathlib import Path
from typing import Any

from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from shapely.geometry import shape

from jnft.ogcapi.provider import validity

_FIELDS = {
    "type": {"type": "string", "title": "series (a concept) or dataset (a tile, a station)"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "collection": {"type": "string", "title": "the concept"},
    "license": {"type": "string"},
}
_READING = threading.Lock()


def provider_definition(catalog: Path, concepts: list[str], links: dict[str, str]) -> dict:
    """The record provider entry: the catalog folder, the concepts that may show, and the
    address of each concept's collection in the OGC APIs (linked from its records)."""
    return {
        "type": "record",
        "name": "jnft.ogcapi.records.CatalogueProvider",
        "data": str(catalog),
        "id_field": "id",
        "title_field": "title",
        "concepts": concepts,
        "links": links,
    }


def _folded(text: str) -> str:
    """Lower case without accents: `Modèle` and `modele` are the same word to a search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _box(bbox: list[float]) -> dict[str, Any]:
    x0, y0, x1, y1 = bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _time(start: str | None, end: str | None) -> dict[str, Any] | None:
    if start and start == end:
        return {"timestamp": start}
    if start or end:
        return {"interval": [start or "..", end or ".."]}
    return None


def _read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _children(document: dict[str, Any], folder: Path, rel: str) -> list[Path]:
    return [(folder / link["href"]).resolve() for link in document["links"] if link["rel"] == rel]


def _collection_record(stac: dict[str, Any]) -> dict[str, Any]:
    extent = stac["extent"]
    start, end = extent["temporal"]["interval"][0]
    return {
        "id": stac["id"],
        "type": "Feature",
        "geometry": _box(extent["spatial"]["bbox"][0]),
        "time": _time(start, end),
        "properties": {
            "type": "series",
            "title": stac.get("title") or stac["id"],
            "description": " ".join(stac["description"].split()),
            "keywords": stac.get("keywords", []),
            "collection": stac["id"],
            "license": stac["license"],
            "contacts": [
                {"organization": p["name"], "roles": p.get("roles", [])}
                for p in stac.get("providers", [])
            ],
        },
        "links": [],
    }


def _item_record(stac: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    properties = stac["properties"]
    start = properties.get("start_datetime") or properties.get("datetime")
    end = properties.get("end_datetime") or properties.get("datetime")
    where = properties.get("jnft:tile") or properties.get("title") or stac["id"]
    when = (start or "")[:10]
    title = f"{parent['properties']['title']} — {where}" + (f", {when}" if when else "")
    return {
        "id": stac["id"],
        "type": "Feature",
        "geometry": stac["geometry"],
        "time": _time(start, end),
        "properties": {
            **{k: parent["properties"][k] for k in ("description", "keywords", "license")},
            "type": "dataset",
            "title": title,
            "collection": parent["id"],
            "formats": sorted(
                {a["type"] for a in stac.get("assets", {}).values() if a.get("type")}
            ),
        },
        "links": [],
    }


@functools.lru_cache(maxsize=4)
def _catalog(folder: Path) -> tuple[dict[str, Any], ...]:
    """Every record of a published catalog (its resolved folder: one version)."""
    root = folder / "catalog.json"
    records = []
    for path in _children(_read(root), root.parent, "child"):
        stac = _read(path)
        parent = _collection_record(stac)
        records.append(parent)
        for item in _children(stac, path.parent, "item"):
            records.append(_item_record(_read(item), parent))
    return tuple(records)


def _words_match(record: dict[str, Any], q: str) -> bool:
    """OGC API – Records `q`: comma-separated alternatives, each a set of words all present."""
    properties = record["properties"]
    text = _folded(
        " ".join([properties["title"], properties["description"], *properties["keywords"]])
    )
    return any(all(word in text for word in _folded(term).split()) for term in q.split(",") if term)


def _meets(record: dict[str, Any], bbox: list[float]) -> bool:
    x0, y0, x1, y1 = bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox
    left, bottom, right, top = shape(record["geometry"]).bounds
    return left <= x1 and right >= x0 and bottom <= y1 and top >= y0


def _during(record: dict[str, Any], datetime_: str) -> bool:
    period = validity(datetime_)
    time = record.get("time")
    if period is None or time is None:
        return period is None
    start, end = period
    first, last = (time["timestamp"],) * 2 if "timestamp" in time else time["interval"]
    begins = _instant(first if first != ".." else None)
    ends = _instant(last if last != ".." else None)
    return (end is None or begins is None or begins <= end) and (
        start is None or ends is None or ends >= start
    )


class CatalogueProvider(BaseProvider):
    """The records of the STAC catalog's public concepts."""

    _fields: dict[str, dict[str, Any]]

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.concepts = set(provider_def["concepts"])
        self.links: dict[str, str] = provider_def.get("links", {})
        self.id_field = "id"
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, Any]]:
        if not self._fields:
            self._fields = {name: dict(field) for name, field in _FIELDS.items()}
        return self._fields

    def records(self) -> list[dict[str, Any]]:
        """The records of the listed concepts, linked to their collection in the APIs."""
        folder = Path(self.data)
        if not (folder / "catalog.json").is_file():
            raise ProviderConnectionError(
                user_msg=f"no STAC catalog at {folder}; materialize the `catalog` asset"
            )
        with _READING:
            every = _catalog(folder.resolve())
        found = []
        for record in every:
            concept = record["properties"]["collection"]
            if concept not in self.concepts:  # restricted data never leaves the lakehouse
                continue
            record = {**record, "links": list(record["links"])}
            if concept in self.links:
                record["links"].append(
                    {"rel": "item", "type": "application/json", "href": self.links[concept]}
                )
            found.append(record)
        return found

    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list[float] | None = None,
        datetime_: str | None = None,
        properties: list[tuple[str, str]] | None = None,
        sortby: list[dict[str, str]] | None = None,
        select_properties: list[str] | None = None,
        skip_geometry: bool = False,
        q: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A page of the records matching bbox, datetime, q and properties."""
        found = self.records()
        if bbox:
            found = [r for r in found if _meets(r, bbox)]
        if datetime_:
            found = [r for r in found if _during(r, datetime_)]
        if q:
            found = [r for r in found if _words_match(r, q)]
        for name, value in properties or []:
            if name not in self.fields:
                raise ProviderInvalidQueryError(user_msg=f"unknown property {name!r}")
            found = [r for r in found if str(r["properties"].get(name)) == value]
        found.sort(key=lambda r: r["id"])
        for key in reversed(sortby or []):
            found.sort(
                key=lambda r: str(r["properties"].get(key["property"], "")),
                reverse=key["order"] == "-",
            )
        page = [] if resulttype == "hits" else found[offset : offset + limit]
        features = []
        for record in page:
            shown = dict(record)
            if select_properties:
                kept = {"type", "title", *select_properties}
                shown["properties"] = {k: v for k, v in record["properties"].items() if k in kept}
            if skip_geometry:
                shown["geometry"] = None
            features.append(shown)
        return {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": len(found),
            "numberReturned": len(features),
        }

    def get(self, identifier: str, **kwargs: Any) -> dict[str, Any]:
        """One record by id."""
        for record in self.records():
            if record["id"] == identifier:
                return record
        raise ProviderItemNotFoundError(user_msg=f"no record {identifier!r} in the catalogue")

    def __repr__(self) -> str:
        return f"<CatalogueProvider> {self.data}"
