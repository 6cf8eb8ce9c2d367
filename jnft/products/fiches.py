"""A recognized concept's fiche: the template's body with the delivery's facts filled in (the
source pattern and vintage pattern generalized over its files, the bbox, the territory, the
resolution read from the headers) and what was guessed written into its lineage (C2)."""

from __future__ import annotations

import re
from typing import Any

from jnft.products.recognize import Concept, resolution_tag
from jnft.products.templates import deep_merge

# How a fiche's keys are ordered when written, as in the project's hand-written fiches.
KEY_ORDER = ("id", "title", "description", "role", "kind", "theme", "tiled", "roles", "source")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _common_prefix(values: list[str]) -> str:
    """The characters every value starts with (names, not path components)."""
    shortest = min(values, key=len)
    end = next((i for i, c in enumerate(shortest) if any(v[i] != c for v in values)), None)
    return shortest if end is None else shortest[:end]


def _merge_names(values: list[str]) -> str:
    """One glob component matching every value: the common prefix and suffix around `*`."""
    if len(set(values)) == 1:
        return values[0]
    prefix = _common_prefix(values)
    suffix = _common_prefix([v[len(prefix) :][::-1] for v in values])[::-1]
    return f"{prefix}*{suffix}".replace("**", "*")


def source_pattern(concept: Concept) -> str:
    """A glob, relative to the delivery, matching the concept's files of every vintage: the
    vintage dates become `*`, components that still differ are merged around a `*`."""
    flags = re.IGNORECASE
    parts = []
    for match in concept.matches:
        date = re.search(concept.vintage_pattern, match.relative, flags)
        assert date is not None  # the vintage pattern dates every file of the concept
        parts.append(match.relative.replace(date.group(1), "*").split("/"))
    names = [p[-1] for p in parts]
    # A tiled product's glob (`*.laz`, `*.asc`) also matches the tiles delivered later.
    glob = concept.product.glob_of(concept.layer)
    name = names[0] if len(set(names)) == 1 and "*" not in glob else glob
    if len({len(p) for p in parts}) != 1:
        return f"**/{name}"
    folders = [_merge_names(list(column)) for column in zip(*(p[:-1] for p in parts), strict=True)]
    return "/".join([*folders, name])


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """Placeholders `{name}` replaced: a whole-string one by the typed value, others as text."""
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if not isinstance(value, str):
        return value
    whole = _PLACEHOLDER.fullmatch(value)
    if whole and whole.group(1) in values:
        return values[whole.group(1)]
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), value)


def _lineage(concept: Concept, base: str | None) -> str:
    said = [base] if base else []
    said.append(
        f"millésime(s) {', '.join(concept.vintages)} déduit(s) des noms de dossiers ou de "
        f"fichiers ({concept.vintage_pattern})"
    )
    said += concept.guesses
    return "; ".join(said)


def _ordered(body: dict[str, Any], kind: str) -> dict[str, Any]:
    keys = [*KEY_ORDER, kind, "criteria"]
    rest = {k: v for k, v in body.items() if k not in keys}
    return {k: body[k] for k in keys if k in body} | rest


def fiche_of(
    concept: Concept,
    territory: str,
    bbox: tuple[float, float, float, float] | None,
    roles: set[str],
) -> dict[str, Any]:
    """The fiche (as written) of a recognized concept, keeping only the `roles` it was given."""
    product, layer = concept.product, concept.layer
    resolutions = {m.facts.resolution for m in concept.matches}
    resolution = resolutions.pop() if len(resolutions) == 1 else None
    values: dict[str, Any] = {"territory": territory}
    if bbox is not None:
        values["bbox"] = [float(b) for b in bbox]
    if resolution is not None:
        values |= {"resolution": resolution, "resolution_label": f"{resolution:g} m"}
    body = substitute(deep_merge(product.defaults, layer.fiche), values)
    criteria = body["criteria"]
    if criteria.get("c06_extent", {}).get("bbox") == "{bbox}":  # nothing located: no bbox
        del criteria["c06_extent"]["bbox"]
    provenance = criteria["c02_provenance"]
    provenance["lineage"] = _lineage(concept, provenance.get("lineage"))
    source: dict[str, Any] = {
        "name": product.source_of(layer).replace("{resolution}", resolution_tag(resolution)),
        "producer": provenance["producer"],
        "pattern": source_pattern(concept),
        "format": product.format,
    }
    if layer.layer:
        source["layer"] = layer.layer
    crs = sorted({m.facts.crs for m in concept.matches if m.facts.crs and m.facts.guess})
    if crs or product.crs:
        source["crs"] = crs[0] if crs else product.crs
    if layer.encoding:
        source["encoding"] = layer.encoding
    source["vintage_pattern"] = concept.vintage_pattern
    body["roles"] = {r: c for r, c in body.get("roles", {}).items() if r in roles}
    if not body["roles"]:
        del body["roles"]
    return _ordered({"id": concept.id, **body, "source": source}, body["kind"])
