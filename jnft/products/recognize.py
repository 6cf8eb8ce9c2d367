"""Recognition of a delivery: each file matched against the catalog's templates (path regexes,
GeoPackage layers, vintage in the path), grouped into concepts; every other file accounted for
(shapefile sidecar, documentation) or listed with the reason it was not recognized."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyogrio

from jnft.formats.errors import SourceFileError
from jnft.ingest.bronze import parse_vintage
from jnft.products.extent import Facts, facts_of
from jnft.products.scan import list_delivery
from jnft.products.templates import LayerTemplate, ProductTemplate, load_catalog

SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml", ".qmd")
DOCUMENTATION = (".md5", ".xml", ".pdf", ".txt", ".html", ".htm", ".md", ".odt", ".docx")
# The extensions each source format is delivered with, to say why a file was not recognized.
FORMAT_EXTENSIONS = {
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "JSON",
    ".asc": "ESRI ASCII grid",
    ".tif": "GeoTIFF",
    ".laz": "LAZ point cloud",
    ".las": "LAS point cloud",
    ".csv": "CSV",
}


@dataclass(frozen=True)
class Match:
    """One file (or GeoPackage layer) recognized as a layer of a product."""

    relative: str
    product: ProductTemplate
    layer: LayerTemplate
    vintage: str  # ISO date
    vintage_pattern: str
    facts: Facts
    concept: str


@dataclass
class Concept:
    """The files of one layer of one product, every vintage: one fiche."""

    id: str
    product: ProductTemplate
    layer: LayerTemplate
    matches: list[Match]

    @property
    def files(self) -> list[str]:
        return sorted({m.relative for m in self.matches})

    @property
    def vintages(self) -> list[str]:
        return sorted({m.vintage for m in self.matches})

    @property
    def vintage_pattern(self) -> str:
        """The first of the product's vintage regexes that dates every file."""
        return next(
            p
            for p in self.product.vintage
            if all(re.search(p, f, re.IGNORECASE) for f in self.files)
        )

    @property
    def guesses(self) -> list[str]:
        return sorted({m.facts.guess for m in self.matches if m.facts.guess})


@dataclass(frozen=True)
class Unrecognized:
    relative: str
    reason: str


@dataclass
class Recognition:
    concepts: list[Concept] = field(default_factory=list)
    unrecognized: list[Unrecognized] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)
    documentation: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    territory_codes: list[str] = field(default_factory=list)


def resolution_tag(resolution: float | None) -> str:
    """`5`, `0_5`: a resolution as it may appear in a concept id."""
    if resolution is None:
        return ""
    return f"{resolution:g}".replace(".", "_")


def departement(code: str) -> str:
    """`D038` from `D038`, `38` or `038`; `D02A` from `2A`."""
    bare = code.upper().removeprefix("D")
    return "D" + bare.rjust(3, "0")


def _vintage(template: ProductTemplate, relative: str) -> tuple[str, str] | None:
    for pattern in template.vintage:
        if re.search(pattern, relative, re.IGNORECASE):
            return parse_vintage(relative, pattern).isoformat(), pattern
    return None


def _candidates(relative: str) -> list[tuple[ProductTemplate, LayerTemplate]]:
    return [
        (template, layer)
        for template in load_catalog()
        if re.search(template.path, relative, re.IGNORECASE)
        for layer in template.layers
        if re.search(template.file_of(layer), relative, re.IGNORECASE)
    ]


def _match_file(delivery: Path, relative: str, found: list[Match]) -> tuple[bool, str | None]:
    """Add the file's matches; (whether the catalog knows the file, why it yields nothing)."""
    candidates = _candidates(relative)
    if not candidates:
        return False, None
    path = delivery / relative
    reasons: list[str] = []
    gpkg_layers: set[str] | None = None
    for template, layer in candidates:
        if layer.layer is not None:
            if gpkg_layers is None:
                gpkg_layers = {str(n) for n in pyogrio.list_layers(path)[:, 0]}
            if layer.layer not in gpkg_layers:
                continue
        dated = _vintage(template, relative)
        if dated is None:
            reasons.append(
                f"{template.title}, but no vintage date in its path: deliver it in a folder "
                "named like `<product>_YYYY-MM-DD`"
            )
            continue
        try:
            facts = facts_of(
                path, relative, template.format, layer.layer, template.crs, template.crs_names
            )
        except SourceFileError as error:
            reasons.append(f"{template.title}, but {error}")
            continue
        concept = layer.id.replace("{resolution}", resolution_tag(facts.resolution))
        found.append(Match(relative, template, layer, *dated, facts, concept))
    if not any(m.relative == relative for m in found) and not reasons:
        wanted = sorted({c[1].layer for c in candidates if c[1].layer})
        reasons.append(f"{candidates[0][0].title} without any of its layers {wanted}")
    return True, "; ".join(reasons) or None


def _sidecar_of(relative: str, shapefiles: set[str]) -> bool:
    lower = relative.lower()
    return any(lower == stem + ext for stem in shapefiles for ext in SIDECARS)


def _reason(relative: str) -> str:
    suffix = PurePosixPath(relative).suffix.lower()
    if suffix in FORMAT_EXTENSIONS:
        return f"a {FORMAT_EXTENSIONS[suffix]} file whose name no catalog product recognizes"
    if suffix in SIDECARS:
        return "a shapefile part without a recognized .shp beside it"
    return f"unknown file type {suffix or '(no extension)'}"


def _concepts(found: list[Match]) -> list[Concept]:
    """Group by (concept id, product); an id yielded by two products gets the product's name."""
    groups: dict[tuple[str, str], list[Match]] = {}
    for match in found:
        groups.setdefault((match.concept, match.product.product), []).append(match)
    first: dict[str, str] = {}
    concepts = []
    for (concept, product), matches in sorted(groups.items()):
        owner = first.setdefault(concept, product)
        cid = concept if owner == product else f"{concept}_{product}"
        concepts.append(Concept(cid, matches[0].product, matches[0].layer, matches))
    return concepts


def recognize(delivery: Path) -> Recognition:
    """Match every file of the delivery against the catalog."""
    delivery = Path(delivery)
    listing = list_delivery(delivery)
    found: list[Match] = []
    result = Recognition(archives=listing.archives)
    result.unrecognized += [Unrecognized(s.relative, s.reason) for s in listing.skipped]
    pending = []
    for relative in listing.files:
        known, reason = _match_file(delivery, relative, found)
        if reason and not any(m.relative == relative for m in found):
            result.unrecognized.append(Unrecognized(relative, reason))
        elif not known:
            pending.append(relative)
    lowered = {m.relative.lower() for m in found}
    shapefiles = {r.removesuffix(".shp") for r in lowered if r.endswith(".shp")}
    for relative in pending:
        if _sidecar_of(relative, shapefiles):
            result.sidecars.append(relative)
        elif PurePosixPath(relative).suffix.lower() in DOCUMENTATION:
            result.documentation.append(relative)
        else:
            result.unrecognized.append(Unrecognized(relative, _reason(relative)))
    result.concepts = _concepts(found)
    codes = set()
    for match in found:
        if match.product.territory:
            code = re.search(match.product.territory, match.relative, re.IGNORECASE)
            if code:
                codes.add(departement(code.group(1)))
    result.territory_codes = sorted(codes)
    return result
