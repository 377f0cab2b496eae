"""GeoJSON (RFC 7946) as every NGSI place that holds it checks it: sdmtool.geojson, and the derived schemas
that the fast path proves GeoProperty values with (never more lenient than the check)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from sdmtool import derive, geojson

RING = [[0, 0], [1, 0], [1, 1], [0, 0]]

GOOD = [
    {"type": "Point", "coordinates": [2.35, 48.85]},
    {"type": "Point", "coordinates": [2.35, 48.85, 35.0]},
    {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]},
    {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
    {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
    {"type": "Polygon", "coordinates": [RING]},
    {"type": "MultiPolygon", "coordinates": [[RING], [RING, RING]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}]},
    {"type": "Point", "coordinates": [0, 0], "bbox": [0, 0, 0, 0]},  # foreign members are allowed
]

# (geometry, path of the problem inside it, part of the message)
BAD = [
    ({"type": "Point", "coordinates": 5}, ("coordinates",), "a position is an array of 2 or 3 numbers"),
    ({"type": "Point", "coordinates": ["a", "b"]}, ("coordinates",), "2 or 3 numbers"),
    ({"type": "Point", "coordinates": [1]}, ("coordinates",), "2 or 3 numbers"),
    ({"type": "Point", "coordinates": [1, 2, 3, 4]}, ("coordinates",), "2 or 3 numbers"),
    ({"type": "Point", "coordinates": [True, 2]}, ("coordinates",), "2 or 3 numbers"),
    ({"type": "Point", "coordinates": []}, ("coordinates",), "2 or 3 numbers"),
    ({"type": "Point"}, (), "a Point has coordinates"),
    ({"type": "Circle", "coordinates": [0, 0]}, ("type",), "one of Point"),
    ("POINT (0 0)", (), "is an object"),
    ({"type": "LineString", "coordinates": [[0, 0]]}, ("coordinates",), "at least 2 positions"),
    ({"type": "LineString", "coordinates": [[0, 0], [1]]}, ("coordinates", 1), "2 or 3 numbers"),
    ({"type": "MultiPoint", "coordinates": []}, ("coordinates",), "non-empty array"),
    ({"type": "MultiLineString", "coordinates": [[[0, 0]]]}, ("coordinates", 0), "at least 2 positions"),
    ({"type": "Polygon", "coordinates": [RING[:3]]}, ("coordinates", 0), "at least 4 positions"),
    ({"type": "Polygon", "coordinates": [[*RING[:3], [0, 1]]]}, ("coordinates", 0, 3), "closed"),
    ({"type": "MultiPolygon", "coordinates": [[RING], []]}, ("coordinates", 1), "non-empty array"),
    ({"type": "GeometryCollection"}, (), "has geometries"),
    (
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0]}]},
        ("geometries", 0, "coordinates"),
        "2 or 3 numbers",
    ),
]


@pytest.mark.parametrize("geometry", GOOD)
def test_geometries_that_fit(geometry: Any) -> None:
    assert geojson.geometry_problem(geometry) is None
    assert geojson.geojson_problem(geometry) is None


@pytest.mark.parametrize(("geometry", "path", "message"), BAD)
def test_each_way_a_geometry_does_not_fit_is_told_where(geometry: Any, path: tuple, message: str) -> None:
    problem = geojson.geometry_problem(geometry)
    assert problem is not None and problem[0] == path and message in problem[1], problem


def test_features_and_collections_for_geo_json() -> None:
    point = {"type": "Point", "coordinates": [0, 0]}
    feature = {"type": "Feature", "geometry": point, "properties": {}}
    assert geojson.geojson_problem(feature) is None
    assert geojson.geojson_problem({**feature, "geometry": None}) is None
    assert geojson.geojson_problem({"type": "FeatureCollection", "features": [feature]}) is None
    broken = {**feature, "geometry": {"type": "Point", "coordinates": [0]}}
    assert geojson.geojson_problem(broken)[0] == ("geometry", "coordinates")  # type: ignore[index]
    collection = {"type": "FeatureCollection", "features": [feature, broken]}
    assert geojson.geojson_problem(collection)[0] == ("features", 1, "geometry", "coordinates")  # type: ignore[index]
    assert geojson.geojson_problem({"type": "FeatureCollection", "features": [point]})[0] == ("features", 0)  # type: ignore[index]
    assert geojson.geojson_problem({"type": "Feature"})[0] == ()  # type: ignore[index]
    # A bare geometry is the check of a geometry.
    assert geojson.geojson_problem({"type": "Point"}) == geojson.geometry_problem({"type": "Point"})


numbers = st.one_of(
    st.integers(-200, 200), st.floats(-200, 200, allow_nan=False), st.booleans(), st.text(max_size=2)
)
positions = st.lists(numbers, max_size=4)
coordinates = st.recursive(positions, lambda inner: st.lists(inner, max_size=5), max_leaves=20)
geometries = st.fixed_dictionaries(
    {
        "type": st.sampled_from([*geojson.COORDINATE_GEOMETRIES, "GeometryCollection", "Circle"]),
        "coordinates": st.one_of(coordinates, st.just([[0, 0], [1, 0], [1, 1], [0, 0]])),
    }
)


@settings(max_examples=400, deadline=None)
@given(geometry=geometries)
def test_the_derived_schema_never_accepts_what_the_check_refuses(geometry: dict[str, Any]) -> None:
    # The fast path proves a GeoProperty with this schema: it must imply the full check's verdict.
    validator = Draft202012Validator(derive._GEOJSON_GEOMETRY)
    if validator.is_valid(geometry):
        assert geojson.geometry_problem(geometry) is None
    elif geometry["type"] in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        assert geojson.geometry_problem(geometry) is not None  # the same rules, where a schema can say them
