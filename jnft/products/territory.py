"""`add_territory`: from a delivery folder to a project's fiches (`concepts/<id>.yaml`), its
`jnft.yaml` (`sources:` the delivery) and the delivery's `territory.yaml` (name, 10 km tiles);
what the command prints is `AddReport.lines()`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jnft.products.fiches import fiche_of
from jnft.products.recognize import Concept, Recognition, recognize
from jnft.quality.fiche import FicheError, load_fiche
from jnft.tiles import TARGET_CRS, tile_bounds, tiles_covering

Bounds = tuple[float, float, float, float]


class _Dumper(yaml.SafeDumper):
    """Block style, tile names quoted (`0370_6550` would read back as an octal number)."""


class _Quoted(str):
    pass


_Dumper.add_representer(
    _Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, "'")
)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


@dataclass
class AddReport:
    """What `add_territory` found and did."""

    delivery: Path
    project: Path
    recognition: Recognition
    territory: str
    tiles: list[str]
    bounds: Bounds | None
    fiches: dict[str, str] = field(default_factory=dict)  # id -> written|unchanged|kept|overwritten
    roles: dict[str, str] = field(default_factory=dict)  # role -> concept that fills it
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the command prints: products, fiches, files not recognized, tiles."""
        rec = self.recognition
        out = [f"Delivery {self.delivery} → territory {self.territory}"]
        for concept in rec.concepts:
            out.append(
                f"  {concept.product.title}: {len(concept.files)} file(s), vintage(s) "
                f"{', '.join(concept.vintages)} → concept {concept.id}"
            )
            out += [f"    guessed: {g}" for g in concept.guesses]
        counts = [
            f"{len(rec.sidecars)} shapefile part(s)",
            f"{len(rec.documentation)} documentation file(s)",
            f"{len(rec.archives)} archive(s) unpacked into .jnft_extracted/",
        ]
        out.append("  Also delivered: " + ", ".join(counts))
        for state in ("written", "overwritten", "unchanged", "kept"):
            ids = [i for i, s in self.fiches.items() if s == state]
            if ids:
                out.append(f"Fiches {state} ({len(ids)}): {', '.join(ids)}")
        if "kept" in self.fiches.values():
            out.append("  (edited fiches kept as they are: use --force to overwrite)")
        out += [f"Role {role}: {cid}" for role, cid in sorted(self.roles.items())]
        out += [f"Note: {n}" for n in self.notes]
        if rec.unrecognized:
            out.append(f"Not recognized ({len(rec.unrecognized)}):")
            out += [f"  {u.relative}: {u.reason}" for u in rec.unrecognized]
        out.append(f"Tiles ({len(self.tiles)}): {', '.join(self.tiles) or 'none'}")
        return out


def territory_tiles(concepts: list[Concept]) -> tuple[list[str], Bounds | None]:
    """The 10 km tiles covering every located file, and their union's bounds."""
    tiles = sorted(
        {
            t
            for c in concepts
            for m in c.matches
            if m.facts.bounds is not None
            for t in tiles_covering(_covered(m.facts.bounds, m.facts.resolution))
        }
    )
    if not tiles:
        return [], None
    boxes = [tile_bounds(t) for t in tiles]
    return tiles, (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _covered(bounds: Bounds, resolution: float | None) -> Bounds:
    """What a file covers: a grid, its cell centres (IGN's lie on the tile edges, half a cell
    beyond them: no tile for that half cell); a point or a line, a metre around it."""
    x0, y0, x1, y1 = bounds
    if resolution:
        half = resolution / 2
        x0, y0, x1, y1 = x0 + half, y0 + half, x1 - half, y1 - half
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _existing_roles(concepts_dir: Path, ours: set[str]) -> dict[str, str]:
    """Roles filled by the project's other fiches: a project has one concept per role."""
    filled: dict[str, str] = {}
    for path in sorted(concepts_dir.glob("*.yaml")):
        if path.stem in ours:
            continue
        try:
            fiche = load_fiche(path)
        except FicheError:
            continue  # not ours to judge here: the project's checks report it
        filled.update({role: fiche.id for role in fiche.roles if role not in filled})
    return filled


def assign_roles(
    concepts: list[Concept], taken: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Each role to one concept: the project's own first, else the highest priority (then the
    first id); the notes say who lost which role."""
    winners = dict(taken)
    notes = []
    claims: dict[str, list[Concept]] = {}
    for concept in concepts:
        for role in concept.layer.fiche.get("roles", {}):
            claims.setdefault(role, []).append(concept)
    for role, candidates in sorted(claims.items()):
        ranked = sorted(candidates, key=lambda c: (-c.layer.priority, c.id))
        winners.setdefault(role, ranked[0].id)
        losers = [c.id for c in ranked if c.id != winners[role]]
        if losers:
            notes.append(f"role {role} given to {winners[role]}, not to {', '.join(losers)}")
    return winners, notes


def _write_fiche(fiche: dict[str, Any], target: Path, force: bool) -> str:
    """Validate, then write unless an edited version is there; the outcome's name."""
    text = dump_yaml(fiche)
    with tempfile.TemporaryDirectory() as scratch:
        draft = Path(scratch) / target.name
        draft.write_text(text, encoding="utf-8")
        load_fiche(draft)  # a template that renders an invalid fiche fails here, named
    if target.exists():
        if target.read_text(encoding="utf-8") == text:
            return "unchanged"
        if not force:
            return "kept"
        target.write_text(text, encoding="utf-8")
        return "overwritten"
    target.write_text(text, encoding="utf-8")
    return "written"


def _update_yaml(path: Path, values: dict[str, Any]) -> None:
    """Set keys of a YAML mapping file, keeping its other keys."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    path.write_text(dump_yaml({**(data or {}), **values}), encoding="utf-8")


def _sources_value(delivery: Path, project: Path) -> str:
    """The delivery as `jnft.yaml` says it: relative to the project when inside it."""
    try:
        return delivery.relative_to(project).as_posix() or "."
    except ValueError:
        return str(delivery)


def add_territory(delivery: Path, project: Path, *, force: bool = False) -> AddReport:
    """Recognize a delivery folder and write the project's fiches and territory files."""
    delivery, project = Path(delivery).resolve(), Path(project).resolve()
    recognition = recognize(delivery)
    tiles, bounds = territory_tiles(recognition.concepts)
    name = "-".join(recognition.territory_codes) or delivery.name
    concepts_dir = project / "concepts"
    concepts_dir.mkdir(parents=True, exist_ok=True)
    ids = {c.id for c in recognition.concepts}
    roles, notes = assign_roles(recognition.concepts, _existing_roles(concepts_dir, ids))
    report = AddReport(delivery, project, recognition, name, tiles, bounds, roles=roles)
    report.notes = notes
    for concept in recognition.concepts:
        given = {role for role, cid in roles.items() if cid == concept.id}
        fiche = fiche_of(concept, name, bounds, given)
        report.notes += _pattern_notes(delivery, concept, fiche["source"]["pattern"])
        report.fiches[concept.id] = _write_fiche(fiche, concepts_dir / f"{concept.id}.yaml", force)
    _update_yaml(project / "jnft.yaml", {"sources": _sources_value(delivery, project)})
    territory: dict[str, Any] = {"name": name, "crs": TARGET_CRS}
    if bounds is not None:
        territory["bounds"] = [float(b) for b in bounds]
    territory["tiles"] = [_Quoted(t) for t in tiles]
    _update_yaml(delivery / "territory.yaml", territory)
    return report


def _pattern_notes(delivery: Path, concept: Concept, pattern: str) -> list[str]:
    """Say when a fiche's pattern would land files beyond those recognized for it."""
    landed = {p.relative_to(delivery).as_posix() for p in delivery.glob(pattern) if p.is_file()}
    extra = sorted(landed - set(concept.files))
    if not extra:
        return []
    return [f"{concept.id}: pattern {pattern!r} also matches {', '.join(extra[:3])}"]


__all__ = ["AddReport", "add_territory", "assign_roles", "territory_tiles"]
