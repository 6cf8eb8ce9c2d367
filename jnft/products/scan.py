"""Listing a delivery folder: every file, recursively, archives included (zip members are
extracted into `<delivery>/.jnft_extracted/<archive path>/`, where the fiches' patterns find
them; 7z archives only when py7zr is installed)."""

from __future__ import annotations

import importlib.util
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

EXTRACTED = ".jnft_extracted"  # where archives are unpacked, under the delivery folder
OWN_FILES = ("territory.yaml",)  # written by `add_territory` at the delivery's root


@dataclass(frozen=True)
class Skipped:
    """A file not read, and why."""

    relative: str
    reason: str


@dataclass
class Listing:
    files: list[str] = field(default_factory=list)  # delivery-relative POSIX paths
    archives: list[str] = field(default_factory=list)  # unpacked (counted as delivered)
    skipped: list[Skipped] = field(default_factory=list)


def _safe_members(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith(("/", "\\")) and ".." not in Path(n).parts]


def _unpack_zip(path: Path, target: Path) -> str | None:
    """Extract once (a marker records the archive's size and time); a reason when refused."""
    stamp = f"{path.stat().st_size} {path.stat().st_mtime_ns}"
    marker = target / ".unpacked"
    if marker.exists() and marker.read_text(encoding="utf-8") == stamp:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            safe = _safe_members(names)
            if len(safe) != len(names):
                return "zip archive with members outside its folder: refused"
            archive.extractall(target, members=safe)
    except zipfile.BadZipFile as error:
        return f"not a readable zip archive ({error})"
    marker.write_text(stamp, encoding="utf-8")
    return None


def _unpack_7z(path: Path, target: Path) -> str | None:
    if importlib.util.find_spec("py7zr") is None:
        return f"7z archive: extract it first (7z x {path.name})"
    import py7zr  # optional: only when installed

    with py7zr.SevenZipFile(path) as archive:
        names = archive.getnames()
        if len(_safe_members(names)) != len(names):
            return "7z archive with members outside its folder: refused"
        archive.extractall(target)
    return None


UNPACKERS = {".zip": _unpack_zip, ".7z": _unpack_7z}


def _walk(root: Path, base: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and EXTRACTED not in p.relative_to(base).parts
    )


def list_delivery(delivery: Path) -> Listing:
    """Every file of the delivery (archives unpacked), as paths relative to it."""
    delivery = Path(delivery)
    if not delivery.is_dir():
        raise FileNotFoundError(f"{delivery}: not a folder")
    listing = Listing()
    for path in _walk(delivery, delivery):
        relative = path.relative_to(delivery).as_posix()
        unpack = UNPACKERS.get(path.suffix.lower())
        if relative in OWN_FILES:
            continue
        if unpack is None:
            listing.files.append(relative)
            continue
        target = delivery / EXTRACTED / relative
        refused = unpack(path, target)
        if refused:
            listing.skipped.append(Skipped(relative, refused))
            continue
        listing.archives.append(relative)
        listing.files += [
            p.relative_to(delivery).as_posix()
            for p in sorted(target.rglob("*"))
            if p.is_file() and p.name != ".unpacked"
        ]
    return listing
