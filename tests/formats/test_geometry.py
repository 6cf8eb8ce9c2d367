import numpy as np
import pyproj
import pytest
import shapely

from jnft.formats.geometry import crs_of, geometry_types, prepare_geometries

L93 = pyproj.CRS.from_epsg(2154)


def wkb(*geoms):
    return np.array([None if g is None else shapely.to_wkb(g) for g in geoms], dtype=object)


def test_valid_geometries_pass_with_bounds():
    out = prepare_geometries(wkb(shapely.box(0, 0, 10, 5)), L93, L93)
    assert not out.rejections.mask.any()
    assert out.bounds.tolist() == [[0, 0, 10, 5]]


def test_bowtie_polygon_is_repaired_as_a_multipolygon():
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    out = prepare_geometries(wkb(bowtie), L93, L93)
    assert out.repaired == 1 and not out.rejections.mask.any()
    fixed = shapely.from_wkb(out.wkb[0].as_py())
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(50.0)


def test_collapsed_polygon_is_quarantined_with_a_reason():
    flat = shapely.Polygon([(0, 0), (10, 0), (20, 0), (0, 0)])
    out = prepare_geometries(wkb(flat, None, shapely.box(0, 0, 1, 1)), L93, L93)
    assert out.rejections.mask.tolist() == [True, True, False]
    assert "invalid geometry" in out.rejections.reasons[0]
    assert out.rejections.reasons[1] == "missing geometry"


def test_undecodable_wkb_is_quarantined():
    out = prepare_geometries(np.array([b"\x01\x03garbage"], dtype=object), L93, L93)
    assert out.rejections.mask.tolist() == [True]
    assert out.rejections.reasons[0] == "undecodable WKB"


def test_reprojection_from_lonlat_uses_lon_lat_order():
    point = shapely.Point(-1.0, 46.0)  # CRS84: longitude first
    out = prepare_geometries(wkb(point), pyproj.CRS.from_user_input("OGC:CRS84"), L93)
    x, y = out.bounds[0, :2]
    assert 380_000 < x < 410_000 and 6_540_000 < y < 6_560_000


def test_z_is_dropped_unless_kept():
    line = shapely.LineString([(0, 0, 5), (1, 1, 6)])
    assert geometry_types(prepare_geometries(wkb(line), L93, L93).wkb) == ["LineString"]
    kept = prepare_geometries(wkb(line), L93, L93, keep_z=True).wkb
    assert geometry_types(kept) == ["LineString Z"]


def test_unknown_crs_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown CRS"):
        crs_of("EPSG:999999")


def test_single_parts_are_promoted_when_a_multi_type_is_declared():
    out = prepare_geometries(
        wkb(shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(2, 2, 3, 3)])),
        L93,
        L93,
        declared_type="MultiPolygon",
    )
    assert geometry_types(out.wkb) == ["MultiPolygon"]
    assert shapely.from_wkb(out.wkb[0].as_py()).area == 1.0


def test_a_foreign_geometry_family_is_rejected_against_c01():
    out = prepare_geometries(
        wkb(shapely.Point(1, 1), shapely.box(0, 0, 1, 1)), L93, L93, declared_type="MultiPolygon"
    )
    assert out.rejections.mask.tolist() == [True, False]
    assert out.rejections.reasons[0] == "geometry type Point where MultiPolygon is declared"
    assert out.rejections.criteria[0] == "c01_nature"
