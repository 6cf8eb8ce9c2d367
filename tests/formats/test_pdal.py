import json

import numpy as np
import pytest

from jnft.formats.pdal import (
    PipelineError,
    RangeFilter,
    parse_limits,
    parse_pipeline,
    rasterize_tile,
)
from jnft.formats.pointcloud import GridWindow
from tests.factories import write_las

DTM = [
    {"type": "filters.range", "limits": "Classification[2:2],Classification[9:9]"},
    {"type": "writers.gdal", "output_type": "mean", "window_size": 4, "nodata": -99999},
]
DSM = [
    {"type": "filters.range", "limits": "Classification![7:7]"},
    {"type": "writers.gdal", "output_type": "max", "window_size": 4, "nodata": -99999},
]


def test_limits_follow_pdal_syntax():
    low, negated, open_ended = parse_limits("Z[10:20),Classification![7:7],Intensity(5:]")
    assert (low.low, low.high, low.low_inclusive, low.high_inclusive) == (10, 20, True, False)
    assert negated.negate and negated.dimension == "Classification"
    assert open_ended.low == 5 and not open_ended.low_inclusive and open_ended.high == np.inf


def test_ranges_or_within_a_dimension_and_across_dimensions():
    points = {
        "X": np.zeros(5),
        "Classification": np.array([2, 9, 6, 2, 7]),
        "Z": np.array([1.0, 1.0, 1.0, 50.0, 1.0]),
    }
    keep = RangeFilter(tuple(parse_limits("Classification[2:2],Classification[9:9],Z[:10]")), "")
    assert keep.mask(points).tolist() == [True, True, False, False, False]
    noise = RangeFilter(tuple(parse_limits("Classification![7:7],Classification![18:18]")), "")
    assert noise.mask(points).tolist() == [True, True, True, True, False]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"type": "filters.smrf"}, {"type": "writers.gdal"}], "filters.smrf.*not supported"),
        ([{"type": "filters.range", "limits": "Classification[2:2]"}], "ends with one writers"),
        ([{"type": "writers.gdal", "output_type": "idw"}], "output_type 'idw'"),
        (
            [{"type": "filters.range", "limits": "Colour[1:2]"}, {"type": "writers.gdal"}],
            "unknown dimension 'Colour'",
        ),
        ([{"type": "filters.range", "limits": "Z 1 2"}, {"type": "writers.gdal"}], "cannot parse"),
    ],
)
def test_unsupported_pipelines_are_named(stages, message):
    with pytest.raises(PipelineError, match=message):
        parse_pipeline(stages, default_resolution=1.0)


def test_the_same_pipeline_runs_under_pdal():
    pipeline = parse_pipeline(DTM, default_resolution=0.5)
    document = pipeline.to_pdal(["a.laz", "b.laz"], "dtm.tif")
    types = [s["type"] for s in document["pipeline"]]
    assert types == ["readers.las", "readers.las", "filters.merge", "filters.range", "writers.gdal"]
    writer = document["pipeline"][-1]
    assert writer["filename"] == "dtm.tif" and writer["resolution"] == 0.5
    json.dumps(document)  # plain JSON, as `pdal pipeline` reads it


def _terrain(tmp_path, seed=0):
    """Two 100 m LAZ files side by side over a slope; ground and a few roofs."""
    rng = np.random.default_rng(seed)
    files = []
    for i, x0 in enumerate((700_000.0, 700_100.0)):
        n = 30_000
        x, y = x0 + rng.uniform(0, 100, n), 6_600_000 + rng.uniform(0, 100, n)
        ground = 20 + 0.03 * (x - 700_000) + 0.01 * (y - 6_600_000)
        roof = rng.random(n) < 0.1
        classification = np.where(roof, 6, 2).astype(np.uint8)
        path = tmp_path / f"f{i}.laz"
        write_las(path, x, y, ground + roof * 8.0, classification)
        files.append((path, (x.min(), y.min(), x.max(), y.max())))
    return files


def test_tiles_rasterized_apart_match_one_window(tmp_path):
    files = _terrain(tmp_path)
    products = {"dtm": parse_pipeline(DTM, 1.0), "dsm": parse_pipeline(DSM, 1.0)}
    whole = rasterize_tile(files, products, GridWindow(699_999.5, 6_600_100.5, 1.0, 101, 201))
    west = rasterize_tile(files, products, GridWindow(699_999.5, 6_600_100.5, 1.0, 101, 100))
    east = rasterize_tile(files, products, GridWindow(700_099.5, 6_600_100.5, 1.0, 101, 101))
    for name in products:
        mosaic = np.hstack([west.arrays[name], east.arrays[name]])
        assert np.array_equal(mosaic, whole.arrays[name]), name
    assert west.stats.point_count + east.stats.point_count == whole.stats.point_count == 60_000
    assert whole.stats.histogram[6] > 0 and whole.stats.histogram[2] > 0
    dtm, dsm = whole.arrays["dtm"], whole.arrays["dsm"]
    assert (dtm[:-1, 1:] != -99999).all()  # 2.7 ground points per m²: gaps filled
    assert ((dsm - dtm) > 7).mean() > 0.05  # roofs stand out of the DSM only


def test_a_file_that_fails_is_left_out_and_reported(tmp_path):
    files = _terrain(tmp_path)
    broken = files[1][0]
    broken.write_bytes(broken.read_bytes()[:20_000])
    products = {"dtm": parse_pipeline(DTM, 1.0)}
    result = rasterize_tile(files, products, GridWindow(699_999.5, 6_600_100.5, 1.0, 101, 201))
    assert [p for p, _ in result.failures] == [broken]
    assert "truncated or corrupt" in result.failures[0][1]
    assert result.stats.point_count == 30_000  # the good file only, nothing half-read
    assert (result.arrays["dtm"][:-1, 1:100] != -99999).all()
