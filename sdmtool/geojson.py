"""GeoJSON (RFC 7946) as NGSI holds it: the geometry of a GeoProperty, a ``geo:json`` value, a geoQuery's
coordinates. Each check returns the first way a value does not fit, as (path inside the value, message), or
None: one set of rules for every place that holds GeoJSON.

Positions are 2 or 3 numbers (RFC 7946, 3.1.1: longitude, latitude and an optional altitude; more elements
"SHOULD NOT" be written); a LineString has at least two positions, a linear ring at least four and ends where
it starts (3.1.6); the arrays of Multi* geometries, Polygons and GeometryCollections hold at least one member
(an empty geometry locates nothing: stricter than 3.1, which lets processors read it as null).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdmtool import ngsild
from sdmtool.describe import show

PathTuple = tuple[str | int, ...]
Problem = tuple[PathTuple, str]

# The geometries that have coordinates, in RFC 7946 order (a GeometryCollection has geometries).
COORDINATE_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _position(value: Any) -> Problem | None:
    if not isinstance(value, list) or not 2 <= len(value) <= 3 or not all(map(_is_number, value)):
        return (), f"a position is an array of 2 or 3 numbers [longitude, latitude], got {show(value)}"
    return None


def _positions(value: Any, minimum: int, what: str) -> Problem | None:
    if not isinstance(value, list) or len(value) < minimum:
        return (), f"{what} is an array of at least {minimum} positions, got {show(value)}"
    for index, position in enumerate(value):
        problem = _position(position)
        if problem:
            return (index,), problem[1]
    return None


def _line(value: Any) -> Problem | None:
    return _positions(value, 2, "a line")


def _ring(value: Any) -> Problem | None:
    problem = _positions(value, 4, "a linear ring")
    if problem:
        return problem
    if value[0] != value[-1]:
        return (len(value) - 1,), "a linear ring must end at its first position (closed)"
    return None


def _each(value: Any, check: Callable[[Any], Problem | None], what: str) -> Problem | None:
    if not isinstance(value, list) or not value:
        return (), f"{what} is a non-empty array, got {show(value)}"
    for index, item in enumerate(value):
        problem = check(item)
        if problem:
            return (index, *problem[0]), problem[1]
    return None


def _polygon(value: Any) -> Problem | None:
    return _each(value, _ring, "a polygon (an array of linear rings)")


_COORDINATES: dict[str, Callable[[Any], Problem | None]] = {
    "Point": _position,
    "MultiPoint": lambda value: _each(value, _position, "a MultiPoint (an array of positions)"),
    "LineString": _line,
    "MultiLineString": lambda value: _each(value, _line, "a MultiLineString (an array of lines)"),
    "Polygon": _polygon,
    "MultiPolygon": lambda value: _each(value, _polygon, "a MultiPolygon (an array of polygons)"),
}


def coordinates_problem(geometry: str, coordinates: Any) -> Problem | None:
    """How ``coordinates`` do not fit a ``geometry`` of :data:`COORDINATE_GEOMETRIES` (path inside them)."""
    return _COORDINATES[geometry](coordinates)


def geometry_problem(value: Any) -> Problem | None:
    """How ``value`` is no GeoJSON geometry (RFC 7946, 3.1), with the path inside it; None when it is one."""
    if not isinstance(value, dict):
        return (), f"a GeoJSON geometry is an object with a type and coordinates, got {show(value)}"
    kind = value.get("type")
    if kind not in ngsild.GEOJSON_GEOMETRY_TYPES:
        kinds = ", ".join([*COORDINATE_GEOMETRIES, "GeometryCollection"])
        return ("type",), f"the type of a GeoJSON geometry is one of {kinds}; got {show(kind)}"
    if kind == "GeometryCollection":
        if "geometries" not in value:
            return (), "a GeometryCollection has geometries"
        problem = _each(value["geometries"], geometry_problem, "the geometries of a GeometryCollection")
        return None if problem is None else (("geometries", *problem[0]), problem[1])
    if "coordinates" not in value:
        return (), f"a {kind} has coordinates"
    problem = coordinates_problem(kind, value["coordinates"])
    if problem is None:
        return None
    return ("coordinates", *problem[0]), f"coordinates of a {kind}: {problem[1]}"


def geojson_problem(value: Any) -> Problem | None:
    """How ``value`` is no GeoJSON object that ``geo:json`` may hold: a geometry, a Feature (its geometry a
    geometry or null) or a FeatureCollection of them (RFC 7946, 3.2 and 3.3)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "Feature":
        if "geometry" not in value:
            return (), "a Feature has a geometry (a GeoJSON geometry or null)"
        if value["geometry"] is None:
            return None
        problem = geometry_problem(value["geometry"])
        return None if problem is None else (("geometry", *problem[0]), problem[1])
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            return (), f"a FeatureCollection has an array of features, got {show(features)}"
        for index, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                return ("features", index), f"a feature is a GeoJSON Feature, got {show(feature)}"
            problem = geojson_problem(feature)
            if problem is not None:
                return ("features", index, *problem[0]), problem[1]
        return None
    return geometry_problem(value)
