"""Orion NGSI v2 conformance of ``workbench broker``, as a table: request -> expected response.

Every case runs against the real broker on a free port (the session ``broker`` fixture).
Read-only cases share one data set in tenant ``conf``; a case that writes creates its own
entity first (``before``), so the cases are independent of each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

T = {"Fiware-Service": "conf"}  # read-only data set
W = {"Fiware-Service": "confw"}  # cases that write
POINT_ODORI = {"type": "Point", "coordinates": [141.3545, 43.0595]}

DATA = [
    {"id": "Room1", "type": "Room",
     "temperature": {"value": 23, "metadata": {"accuracy": {"value": 0.5}}},
     "pressure": {"value": 720, "type": "Integer"},
     "name": {"value": "Kitchen"},
     "tags": {"value": ["warm", "small"]},
     "address": {"value": {"city": "Sapporo", "ward": "Chuo"}},
     "location": {"type": "geo:json", "value": POINT_ODORI},
     "observedAt": {"type": "DateTime", "value": "2024-05-01T10:00:00+09:00"},
     "active": {"value": True}},
    {"id": "Room2", "type": "Room",
     "temperature": {"value": 30}, "pressure": {"value": 700, "type": "Integer"},
     "name": {"value": "Living room"},
     "tags": {"value": ["warm"]},
     "address": {"value": {"city": "Sapporo", "ward": "Kita"}},
     "location": {"type": "geo:point", "value": "43.0686, 141.3508"},
     "observedAt": {"type": "DateTime", "value": "2024-06-01"},
     "active": {"value": False}},
    {"id": "Room3", "type": "Room",
     "temperature": {"value": 12.5}, "name": {"value": "Cellar, cold"},
     "address": {"value": {"city": "Otaru", "ward": None}},
     "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [141.0, 43.19]}},
     "observedAt": {"type": "DateTime", "value": "2023-12-31T23:59:59.5Z"},
     "nothing": {"value": None}},
    {"id": "Car1", "type": "Car", "speed": {"value": 50}, "name": {"value": "Tram"},
     "location": {"type": "geo:json", "value": {
         "type": "LineString", "coordinates": [[141.34, 43.05], [141.36, 43.07]]}}},
    {"id": "Zone1", "type": "Zone", "name": {"value": "Chuo box"},
     "location": {"type": "geo:json", "value": {"type": "Polygon", "coordinates": [[
         [141.30, 43.00], [141.40, 43.00], [141.40, 43.10], [141.30, 43.10], [141.30, 43.00]]]}}},
    {"id": "MP", "type": "Zone", "l": {"type": "geo:json", "value": {
        "type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}}},
    {"id": "Dup", "type": "A", "n": {"value": 1}},
    {"id": "Dup", "type": "B", "n": {"value": 2}},
]
PATH_DATA = {
    "/sapporo/chuo": [{"id": "Shop1", "type": "Shop", "n": {"value": 1}}],
    "/sapporo/kita": [{"id": "Shop2", "type": "Shop", "n": {"value": 2}}],
    "/otaru": [{"id": "Shop3", "type": "Shop", "n": {"value": 3}}],
}


@dataclass
class Case:
    """One request and what Orion would answer."""

    name: str
    method: str
    path: str
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    body: Any = "<unchecked>"  # exact JSON body
    has: dict[str, Any] | None = None  # subset of a JSON object body
    ids: list[str] | None = None  # entity ids of a list body, in order
    error: str | None = None  # Orion error name
    resp_headers: dict[str, str] = field(default_factory=dict)
    before: list[tuple[str, str, Any]] = field(default_factory=list)
    tenant: dict[str, str] | None = None  # default: T for reads, W for writes


def _tenant(case: Case) -> dict[str, str]:
    if case.tenant is not None:
        return case.tenant
    return W if (case.method != "GET" or case.before) else T


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def E(eid, etype="W", **attrs):  # noqa: N802 - short constructor for write cases
    return ("POST", "/v2/entities", {"id": eid, "type": etype, **attrs})


CASES = [
    # --- endpoints ---------------------------------------------------------------------------
    Case("version", "GET", "/version", 200, has={"orion": ...}),
    Case("entry points", "GET", "/v2", 200, has={"entities_url": "/v2/entities",
                                                  "types_url": "/v2/types"}),
    Case("list default order is creation", "GET", "/v2/entities?type=Room", 200,
         ids=["Room1", "Room2", "Room3"]),
    Case("create", "POST", "/v2/entities", 201, json={"id": "C1", "type": "W", "a": {"value": 1}},
         resp_headers={"location": "/v2/entities/C1?type=W"}),
    Case("create default type Thing", "POST", "/v2/entities", 201, json={"id": "C2"},
         resp_headers={"location": "/v2/entities/C2?type=Thing"}),
    Case("create twice is 422 Already Exists", "POST", "/v2/entities", 422,
         json={"id": "C3", "type": "W"}, before=[E("C3")], error="Unprocessable",
         has={"description": "Already Exists"}),
    Case("upsert existing is 204", "POST", "/v2/entities?options=upsert", 204,
         json={"id": "C4", "type": "W", "b": {"value": 2}}, before=[E("C4")]),
    Case("create keyValues", "POST", "/v2/entities?options=keyValues", 201,
         json={"id": "C5", "type": "W", "a": 1, "s": "x"}),
    Case("get entity", "GET", "/v2/entities/Car1", 200,
         body={"id": "Car1", "type": "Car",
               "speed": {"type": "Number", "value": 50, "metadata": {}},
               "name": {"type": "Text", "value": "Tram", "metadata": {}},
               "location": {"type": "geo:json", "metadata": {}, "value": {
                   "type": "LineString", "coordinates": [[141.34, 43.05], [141.36, 43.07]]}}}),
    Case("get entity ?type", "GET", "/v2/entities/Dup?type=B&options=keyValues", 200,
         body={"id": "Dup", "type": "B", "n": 2}),
    Case("get ambiguous id is 409", "GET", "/v2/entities/Dup", 409, error="TooManyResults"),
    Case("get missing entity is 404", "GET", "/v2/entities/Nope", 404, error="NotFound"),
    Case("get wrong type is 404", "GET", "/v2/entities/Car1?type=Room", 404, error="NotFound"),
    Case("delete entity", "DELETE", "/v2/entities/D1", 204, before=[E("D1")]),
    Case("delete missing is 404", "DELETE", "/v2/entities/D404", 404, error="NotFound"),
    Case("get attrs", "GET", "/v2/entities/Car1/attrs?attrs=speed&options=keyValues", 200,
         body={"speed": 50}),
    Case("append attrs", "POST", "/v2/entities/A1/attrs", 204, json={"b": {"value": 2}},
         before=[E("A1", a={"value": 1})]),
    Case("strict append of existing attr is 422", "POST", "/v2/entities/A2/attrs?options=append",
         422, json={"a": {"value": 2}}, before=[E("A2", a={"value": 1})], error="Unprocessable"),
    Case("append to missing entity is 404", "POST", "/v2/entities/A404/attrs", 404,
         json={"a": {"value": 1}}, error="NotFound"),
    Case("patch attrs", "PATCH", "/v2/entities/P1/attrs", 204, json={"a": {"value": 5}},
         before=[E("P1", a={"value": 1})]),
    Case("patch unknown attr is 422", "PATCH", "/v2/entities/P2/attrs", 422,
         json={"zz": {"value": 5}}, before=[E("P2", a={"value": 1})], error="Unprocessable"),
    Case("patch one good one unknown is PartialUpdate", "PATCH", "/v2/entities/P3/attrs", 422,
         json={"a": {"value": 5}, "zz": {"value": 5}}, before=[E("P3", a={"value": 1})],
         error="PartialUpdate"),
    Case("put attrs replaces all", "PUT", "/v2/entities/R1/attrs", 204, json={"c": {"value": 3}},
         before=[E("R1", a={"value": 1})]),
    Case("get attr", "GET", "/v2/entities/Room1/attrs/temperature", 200,
         body={"type": "Number", "value": 23,
               "metadata": {"accuracy": {"type": "Number", "value": 0.5}}}),
    Case("get missing attr is 404", "GET", "/v2/entities/Room1/attrs/nope", 404,
         error="NotFound", has={"description": "The entity does not have such an attribute"}),
    Case("put attr", "PUT", "/v2/entities/U1/attrs/a", 204, json={"value": 9, "type": "Number"},
         before=[E("U1", a={"value": 1})]),
    Case("put missing attr is 404", "PUT", "/v2/entities/U2/attrs/zz", 404, json={"value": 9},
         before=[E("U2", a={"value": 1})], error="NotFound"),
    Case("delete attr", "DELETE", "/v2/entities/U3/attrs/a", 204,
         before=[E("U3", a={"value": 1})]),
    Case("delete missing attr is 404", "DELETE", "/v2/entities/U4/attrs/zz", 404,
         before=[E("U4", a={"value": 1})], error="NotFound"),
    Case("get attr value (object)", "GET", "/v2/entities/Room1/attrs/address/value", 200,
         body={"city": "Sapporo", "ward": "Chuo"}),
    Case("get attr value (number, json)", "GET", "/v2/entities/Room1/attrs/temperature/value",
         200, headers={"Accept": "application/json"}, body=23),
    Case("put attr value text/plain", "PUT", "/v2/entities/V1/attrs/a/value", 204,
         content=b"42", headers={"Content-Type": "text/plain"},
         before=[E("V1", a={"value": 1})]),
    Case("put attr value json", "PUT", "/v2/entities/V2/attrs/a/value", 204,
         json={"x": [1, 2]}, before=[E("V2", a={"value": 1})]),
    Case("types", "GET", "/v2/types?options=values", 200,
         body=["A", "B", "Car", "Room", "Shop", "Zone"]),
    Case("types with attrs and count", "GET", "/v2/types?limit=1&offset=2&options=count", 200,
         body=[{"type": "Car", "count": 1, "attrs": {
             "location": {"types": ["geo:json"]}, "name": {"types": ["Text"]},
             "speed": {"types": ["Number"]}}}],
         resp_headers={"fiware-total-count": "6"}),
    Case("type", "GET", "/v2/types/Room", 200, has={"count": 3}),
    Case("missing type is 404", "GET", "/v2/types/Nope", 404, error="NotFound"),
    # --- batch ---------------------------------------------------------------------------
    Case("op/update append", "POST", "/v2/op/update", 204, json={"actionType": "append",
         "entities": [{"id": "B1", "type": "W", "a": {"value": 1}}, {"id": "B2", "type": "W"}]}),
    Case("op/update appendStrict existing is 422", "POST", "/v2/op/update", 422,
         json={"actionType": "appendStrict", "entities": [{"id": "B3", "type": "W",
                                                           "a": {"value": 2}}]},
         before=[E("B3", a={"value": 1})], error="Unprocessable"),
    Case("op/update update", "POST", "/v2/op/update", 204, json={"actionType": "update",
         "entities": [{"id": "B4", "type": "W", "a": {"value": 2}}]},
         before=[E("B4", a={"value": 1})]),
    Case("op/update update missing entity is 422", "POST", "/v2/op/update", 422,
         json={"actionType": "update", "entities": [{"id": "B404", "a": {"value": 2}}]},
         error="Unprocessable", has={"description": "do not exist: B404 - [ entity itself ]"}),
    Case("op/update partial", "POST", "/v2/op/update", 422, json={"actionType": "update",
         "entities": [{"id": "B5", "type": "W", "a": {"value": 2}}, {"id": "B405"}]},
         before=[E("B5", a={"value": 1})], error="PartialUpdate"),
    Case("op/update replace", "POST", "/v2/op/update", 204, json={"actionType": "replace",
         "entities": [{"id": "B6", "type": "W", "z": {"value": 2}}]},
         before=[E("B6", a={"value": 1})]),
    Case("op/update delete entity", "POST", "/v2/op/update", 204, json={"actionType": "delete",
         "entities": [{"id": "B7", "type": "W"}]}, before=[E("B7")]),
    Case("op/update delete attrs", "POST", "/v2/op/update", 204, json={"actionType": "delete",
         "entities": [{"id": "B8", "type": "W", "a": {}}]}, before=[E("B8", a={"value": 1})]),
    Case("op/update bad action", "POST", "/v2/op/update", 400,
         json={"actionType": "explode", "entities": []}, error="BadRequest"),
    Case("op/update keyValues", "POST", "/v2/op/update?options=keyValues", 204,
         json={"actionType": "append", "entities": [{"id": "B9", "type": "W", "a": 1}]}),
    Case("op/query", "POST", "/v2/op/query?options=keyValues", 200, tenant=T,
         json={"entities": [{"idPattern": "^Room[12]$", "type": "Room"}, {"id": "Car1"}],
               "attrs": ["name"], "expression": {"q": "name!='Cellar, cold'"}},
         body=[{"id": "Room1", "type": "Room", "name": "Kitchen"},
               {"id": "Room2", "type": "Room", "name": "Living room"},
               {"id": "Car1", "type": "Car", "name": "Tram"}]),
    Case("op/query geo and count", "POST", "/v2/op/query?options=count", 200, tenant=T,
         json={"entities": [{"type": "Room"}], "expression": {
             "georel": "near;maxDistance:2000", "geometry": "point", "coords": "43.06,141.35"}},
         ids=["Room1", "Room2"], resp_headers={"fiware-total-count": "2"}),
    Case("op/query bad field", "POST", "/v2/op/query", 400, json={"entitiez": []},
         error="BadRequest"),
    # --- representations ---------------------------------------------------------------------
    Case("keyValues", "GET", "/v2/entities/Room2?options=keyValues&attrs=temperature,name", 200,
         body={"id": "Room2", "type": "Room", "temperature": 30, "name": "Living room"}),
    Case("values in attrs order", "GET", "/v2/entities?type=Room&options=values&attrs=name,"
         "temperature", 200, body=[["Kitchen", 23], ["Living room", 30], ["Cellar, cold", 12.5]]),
    Case("unique", "GET", "/v2/entities?type=Room&options=unique&attrs=address", 200,
         body=[[{"city": "Sapporo", "ward": "Chuo"}], [{"city": "Sapporo", "ward": "Kita"}],
               [{"city": "Otaru", "ward": None}]]),
    Case("unique dedups", "GET", "/v2/entities?type=Shop&options=unique&attrs=type_missing", 200,
         body=[[]]),
    Case("attrs order", "GET", "/v2/entities/Room1?options=keyValues&attrs=name,temperature", 200,
         body={"id": "Room1", "type": "Room", "name": "Kitchen", "temperature": 23}),
    Case("metadata selection", "GET", "/v2/entities/Room1?attrs=temperature&metadata=nope", 200,
         body={"id": "Room1", "type": "Room",
               "temperature": {"type": "Number", "value": 23, "metadata": {}}}),
    Case("builtin dates only on request", "GET",
         "/v2/entities/Room1?options=keyValues&attrs=dateCreated", 200,
         has={"dateCreated": ...}),
    Case("no builtin dates by default", "GET", "/v2/entities/Car1?options=keyValues", 200,
         body={"id": "Car1", "type": "Car", "speed": 50, "name": "Tram", "location": {
             "type": "LineString", "coordinates": [[141.34, 43.05], [141.36, 43.07]]}}),
    Case("type inference", "GET", "/v2/entities/Room3?attrs=address,nothing,temperature", 200,
         body={"id": "Room3", "type": "Room",
               "address": {"type": "StructuredValue", "value": {"city": "Otaru", "ward": None},
                           "metadata": {}},
               "nothing": {"type": "None", "value": None, "metadata": {}},
               "temperature": {"type": "Number", "value": 12.5, "metadata": {}}}),
    Case("boolean inference", "GET", "/v2/entities/Room1/attrs/active", 200,
         body={"type": "Boolean", "value": True, "metadata": {}}),
    Case("DateTime normalised (offset)", "GET", "/v2/entities/Room1/attrs/observedAt/value", 200,
         headers={"Accept": "application/json"}, body="2024-05-01T01:00:00.000Z"),
    Case("DateTime normalised (date only)", "GET", "/v2/entities/Room2/attrs/observedAt/value",
         200, headers={"Accept": "application/json"}, body="2024-06-01T00:00:00.000Z"),
    Case("DateTime normalised (fraction)", "GET", "/v2/entities/Room3/attrs/observedAt/value",
         200, headers={"Accept": "application/json"}, body="2023-12-31T23:59:59.500Z"),
    Case("bad DateTime is 400", "POST", "/v2/entities", 400,
         json={"id": "BadDate", "d": {"type": "DateTime", "value": "yesterday"}},
         error="BadRequest"),
    Case("geo:point kept as given", "GET", "/v2/entities/Room2/attrs/location", 200,
         body={"type": "geo:point", "value": "43.0686, 141.3508", "metadata": {}}),
    Case("bad geo:json is 400", "POST", "/v2/entities", 400, json={"id": "BadGeo", "l": {
        "type": "geo:json", "value": {"type": "Point", "coordinates": ["x", 1]}}},
         error="BadRequest"),
    Case("bad geo:point is 400", "POST", "/v2/entities", 400, json={"id": "BadGeo2", "l": {
        "type": "geo:point", "value": "91, 500"}}, error="BadRequest"),
    Case("MultiPolygon accepted", "POST", "/v2/entities", 201, json={"id": "MP2", "l": {
        "type": "geo:json", "value": {"type": "MultiPolygon", "coordinates": [[[
            [0, 0], [1, 0], [1, 1], [0, 0]]]]}}}),
    # --- queries -------------------------------------------------------------------------------
    Case("id list", "GET", "/v2/entities?id=Room3,Car1", 200, ids=["Room3", "Car1"]),
    Case("type list", "GET", "/v2/entities?type=Car,Zone", 200, ids=["Car1", "Zone1", "MP"]),
    Case("idPattern", "GET", "/v2/entities?idPattern=^Ro.*[23]$", 200, ids=["Room2", "Room3"]),
    Case("typePattern", "GET", "/v2/entities?typePattern=^(Car|Zone)$", 200,
         ids=["Car1", "Zone1", "MP"]),
    Case("id and idPattern together is 400", "GET", "/v2/entities?id=a&idPattern=b", 400,
         error="BadRequest"),
    Case("q ==", "GET", "/v2/entities?q=temperature==23", 200, ids=["Room1"]),
    Case("q : is ==", "GET", "/v2/entities?q=temperature:30", 200, ids=["Room2"]),
    Case("q !=", "GET", "/v2/entities?type=Room&q=temperature!=23", 200, ids=["Room2", "Room3"]),
    Case("q > ", "GET", "/v2/entities?q=temperature>23", 200, ids=["Room2"]),
    Case("q >=", "GET", "/v2/entities?q=temperature>=23", 200, ids=["Room1", "Room2"]),
    Case("q <", "GET", "/v2/entities?q=temperature<23", 200, ids=["Room3"]),
    Case("q <=", "GET", "/v2/entities?q=temperature<=23", 200, ids=["Room1", "Room3"]),
    Case("q range", "GET", "/v2/entities?q=temperature==12..23", 200, ids=["Room1", "Room3"]),
    Case("q list", "GET", "/v2/entities?q=temperature==30,12.5", 200, ids=["Room2", "Room3"]),
    Case("q quoted value with comma", "GET", "/v2/entities?q=name=='Cellar, cold'", 200,
         ids=["Room3"]),
    Case("q string list", "GET", "/v2/entities?q=name==Kitchen,Tram", 200,
         ids=["Room1", "Car1"]),
    Case("q number does not match text", "GET", "/v2/entities?q=name==23", 200, ids=[]),
    Case("q ~= pattern", "GET", "/v2/entities?q=name~=^Li", 200, ids=["Room2"]),
    Case("q existence", "GET", "/v2/entities?q=pressure", 200, ids=["Room1", "Room2"]),
    Case("q non-existence", "GET", "/v2/entities?type=Room&q=!pressure", 200, ids=["Room3"]),
    Case("q dot path", "GET", "/v2/entities?q=address.ward==Kita", 200, ids=["Room2"]),
    Case("q AND", "GET", "/v2/entities?q=temperature>20;address.city==Sapporo;pressure<710",
         200, ids=["Room2"]),
    Case("q boolean", "GET", "/v2/entities?q=active==false", 200, ids=["Room2"]),
    Case("q array contains", "GET", "/v2/entities?q=tags==small", 200, ids=["Room1"]),
    Case("q date compare", "GET", "/v2/entities?q=observedAt>2024-01-01", 200,
         ids=["Room1", "Room2"]),
    Case("q date range", "GET",
         "/v2/entities?q=observedAt==2024-05-01T00:00:00Z..2024-05-02", 200, ids=["Room1"]),
    Case("mq", "GET", "/v2/entities?mq=temperature.accuracy<1", 200, ids=["Room1"]),
    Case("mq existence", "GET", "/v2/entities?mq=temperature.accuracy", 200, ids=["Room1"]),
    Case("q syntax error is 400", "GET", "/v2/entities?q=temperature==", 400,
         error="BadRequest"),
    Case("hostile q is 400 not 500", "GET",
         "/v2/entities?q=a');DROP TABLE entities;--==1", 400, error="BadRequest"),
    Case("hostile quoted q is harmless", "GET",
         "/v2/entities?q=name=='x\" OR 1=1; DROP TABLE entities'", 200, ids=[]),
    Case("bad regex is 400", "GET", "/v2/entities?idPattern=(", 400, error="BadRequest"),
    # --- geo --------------------------------------------------------------------------------
    Case("near maxDistance (distance order)", "GET", "/v2/entities?georel=near;maxDistance:1500"
         "&geometry=point&coords=43.0690,141.3510&type=Room", 200, ids=["Room2", "Room1"]),
    Case("near minDistance", "GET", "/v2/entities?georel=near;minDistance:5000"
         "&geometry=point&coords=43.06,141.35&type=Room", 200, ids=["Room3"]),
    Case("coveredBy box", "GET", "/v2/entities?georel=coveredBy&geometry=box"
         "&coords=43.05,141.34;43.07,141.36", 200, ids=["Room1", "Room2", "Car1"]),
    Case("coveredBy polygon", "GET", "/v2/entities?georel=coveredBy&geometry=polygon"
         "&coords=43.05,141.34;43.05,141.36;43.065,141.36;43.065,141.34;43.05,141.34", 200,
         ids=["Room1"]),
    Case("intersects line", "GET", "/v2/entities?georel=intersects&geometry=line"
         "&coords=43.05,141.36;43.07,141.34", 200, ids=["Car1", "Zone1"]),
    Case("intersects point in polygon", "GET", "/v2/entities?georel=intersects&geometry=point"
         "&coords=43.02,141.32", 200, ids=["Zone1"]),
    Case("disjoint", "GET", "/v2/entities?georel=disjoint&geometry=box"
         "&coords=43.0,141.3;43.1,141.4", 200, ids=["Room3", "MP"]),
    Case("equals", "GET", "/v2/entities?georel=equals&geometry=point&coords=43.0595,141.3545",
         200, ids=["Room1"]),
    Case("geo missing coords is 400", "GET", "/v2/entities?georel=near;maxDistance:1"
         "&geometry=point", 400, error="BadRequest"),
    Case("near with polygon is 400", "GET", "/v2/entities?georel=near;maxDistance:1"
         "&geometry=polygon&coords=1,1;1,2;2,2;1,1", 400, error="BadRequest"),
    # --- order and paging ---------------------------------------------------------------------
    Case("orderBy attr", "GET", "/v2/entities?type=Room&orderBy=temperature", 200,
         ids=["Room3", "Room1", "Room2"]),
    Case("orderBy !attr", "GET", "/v2/entities?type=Room&orderBy=!temperature", 200,
         ids=["Room2", "Room1", "Room3"]),
    Case("orderBy id", "GET", "/v2/entities?type=Room,Car&orderBy=!id", 200,
         ids=["Room3", "Room2", "Room1", "Car1"]),
    Case("orderBy type then id", "GET", "/v2/entities?id=Dup,Car1&orderBy=!type,id", 200,
         ids=["Car1", "Dup", "Dup"]),
    Case("orderBy dateCreated", "GET", "/v2/entities?type=Shop&orderBy=!dateCreated", 200,
         ids=["Shop3", "Shop2", "Shop1"]),
    Case("orderBy dateModified", "GET", "/v2/entities?type=Room&orderBy=dateModified", 200,
         ids=["Room1", "Room2", "Room3"]),
    Case("orderBy geo:distance desc", "GET", "/v2/entities?type=Room&georel=near;maxDistance:"
         "50000&geometry=point&coords=43.0690,141.3510&orderBy=!geo:distance", 200,
         ids=["Room3", "Room1", "Room2"]),
    Case("limit and offset", "GET", "/v2/entities?type=Room&limit=1&offset=1", 200,
         ids=["Room2"]),
    Case("count header", "GET", "/v2/entities?type=Room&limit=1&options=count", 200,
         ids=["Room1"], resp_headers={"fiware-total-count": "3"}),
    Case("limit 1000 ok", "GET", "/v2/entities?limit=1000&type=Nope", 200, body=[]),
    Case("limit 1001 is 400", "GET", "/v2/entities?limit=1001", 400, error="BadRequest"),
    Case("limit 0 is 400", "GET", "/v2/entities?limit=0", 400, error="BadRequest"),
    Case("bad offset is 400", "GET", "/v2/entities?offset=-1", 400, error="BadRequest"),
    Case("unknown option is 400", "GET", "/v2/entities?options=fancy", 400, error="BadRequest"),
    Case("empty param is 400", "GET", "/v2/entities?type=", 400, error="BadRequest"),
    # --- tenancy ---------------------------------------------------------------------------
    Case("tenants are separate", "GET", "/v2/entities", 200, ids=[],
         tenant={"Fiware-Service": "conf_other"}),
    Case("tenant is case-insensitive", "GET", "/v2/entities/Car1?options=keyValues&attrs=speed",
         200, body={"id": "Car1", "type": "Car", "speed": 50},
         tenant={"Fiware-Service": "CONF"}),
    Case("bad tenant is 400", "GET", "/v2/entities", 400, error="BadRequest",
         tenant={"Fiware-Service": "bad-name!"}),
    Case("long tenant is 400", "GET", "/v2/entities", 400, error="BadRequest",
         tenant={"Fiware-Service": "x" * 51}),
    Case("servicepath exact", "GET", "/v2/entities?type=Shop", 200, ids=["Shop1"],
         headers={"Fiware-ServicePath": "/sapporo/chuo"}),
    Case("servicepath /#", "GET", "/v2/entities?type=Shop", 200, ids=["Shop1", "Shop2"],
         headers={"Fiware-ServicePath": "/sapporo/#"}),
    Case("servicepath list", "GET", "/v2/entities?type=Shop", 200, ids=["Shop1", "Shop3"],
         headers={"Fiware-ServicePath": "/sapporo/chuo, /otaru"}),
    Case("servicepath parent only", "GET", "/v2/entities?type=Shop", 200, ids=[],
         headers={"Fiware-ServicePath": "/sapporo"}),
    Case("servicepath not absolute is 400", "GET", "/v2/entities", 400, error="BadRequest",
         headers={"Fiware-ServicePath": "sapporo"}),
    Case("servicepath 11 paths is 400", "GET", "/v2/entities", 400, error="BadRequest",
         headers={"Fiware-ServicePath": ",".join(f"/p{i}" for i in range(11))}),
    Case("servicepath bad char is 400", "GET", "/v2/entities", 400, error="BadRequest",
         headers={"Fiware-ServicePath": "/a-b"}),
    Case("servicepath too deep is 400", "GET", "/v2/entities", 400, error="BadRequest",
         headers={"Fiware-ServicePath": "/a" * 11}),
    Case("servicepath # in write is 400", "POST", "/v2/entities", 400, error="BadRequest",
         json={"id": "SP1"}, headers={"Fiware-ServicePath": "/a/#"}),
    Case("servicepath list in write is 400", "POST", "/v2/entities", 400, error="BadRequest",
         json={"id": "SP2"}, headers={"Fiware-ServicePath": "/a,/b"}),
    # --- errors -----------------------------------------------------------------------------
    Case("malformed JSON is ParseError", "POST", "/v2/entities", 400, content=b'{"id": ',
         headers={"Content-Type": "application/json"}, error="ParseError"),
    Case("array body is 400", "POST", "/v2/entities", 400, json=[1, 2], error="ParseError"),
    Case("attribute not an object is 400", "POST", "/v2/entities", 400,
         json={"id": "NA", "a": 5}, error="BadRequest"),
    Case("wrong id type is 400", "POST", "/v2/entities", 400, json={"id": 5},
         error="BadRequest"),
    Case("missing id is 400", "POST", "/v2/entities", 400, json={"type": "T"},
         error="BadRequest"),
    Case("id of 256 chars ok", "POST", "/v2/entities", 201, json={"id": "i" * 256}),
    Case("id of 257 chars is 400", "POST", "/v2/entities", 400, json={"id": "i" * 257},
         error="BadRequest"),
    Case("empty id is 400", "POST", "/v2/entities", 400, json={"id": ""}, error="BadRequest"),
    Case("forbidden char in id is 400", "POST", "/v2/entities", 400, json={"id": "a<b"},
         error="BadRequest"),
    Case("space in id is 400", "POST", "/v2/entities", 400, json={"id": "a b"},
         error="BadRequest"),
    Case("forbidden char in attr name is 400", "POST", "/v2/entities", 400,
         json={"id": "FA", "a=b": {"value": 1}}, error="BadRequest"),
    Case("deep nesting is 400", "POST", "/v2/entities", 400,
         json={"id": "Deep", "a": {"value": _nested(60)}}, error="ParseError"),
    Case("very deep JSON is 400", "POST", "/v2/entities", 400,
         content=b"[" * 5000 + b"]" * 5000, headers={"Content-Type": "application/json"},
         error="ParseError"),
    Case("payload over 1 MB is 413", "POST", "/v2/entities", 413,
         json={"id": "Big", "a": {"value": "x" * (1024 * 1024)}},
         error="RequestEntityTooLarge"),
    Case("wrong content type is 415", "POST", "/v2/entities", 415, content=b"<e/>",
         headers={"Content-Type": "application/xml"}, error="UnsupportedMediaType"),
    Case("text/plain entity is 415", "POST", "/v2/entities", 415, content=b"{}",
         headers={"Content-Type": "text/plain"}, error="UnsupportedMediaType"),
    Case("method not allowed is 405 with Allow", "DELETE", "/v2/types", 405,
         error="MethodNotAllowed", resp_headers={"allow": "GET, HEAD"}),
    Case("PATCH entity is 405", "PATCH", "/v2/entities/Car1", 405,
         resp_headers={"allow": "GET, HEAD, DELETE"}),
    Case("unknown URL is 400", "GET", "/v2/nothing", 400, error="BadRequest"),
    # --- history (QuantumLeap-style) ------------------------------------------------------------
    Case("history of an attribute", "GET", "/ql/v2/entities/H1/attrs/a?options=count", 200,
         before=[("POST", "/v2/op/update", {"actionType": "append", "entities": [
             {"id": "H1", "type": "Sensor", "a": {"value": 1},
              "dateObserved": {"type": "DateTime", "value": "2024-01-02"}},
             {"id": "H1", "type": "Sensor", "a": {"value": 2},
              "dateObserved": {"type": "DateTime", "value": "2024-01-01"}}]})],
         body={"entityId": "H1", "entityType": "Sensor", "attrName": "a",
               "index": ["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z"],
               "values": [2, 1]}, resp_headers={"fiware-total-count": "2"}),
    Case("history lastN and TimeInstant metadata", "GET", "/ql/v2/entities/H2/attrs/a?lastN=1",
         200, before=[("POST", "/v2/op/update", {"actionType": "append", "entities": [
             {"id": "H2", "type": "Sensor", "a": {"value": 7, "metadata": {"TimeInstant": {
                 "type": "DateTime", "value": "2020-01-01T00:00:00Z"}}}},
             {"id": "H2", "type": "Sensor", "a": {"value": 8, "metadata": {"TimeInstant": {
                 "type": "DateTime", "value": "2020-01-03T00:00:00Z"}}}}]})],
         has={"index": ["2020-01-03T00:00:00.000Z"], "values": [8]}),
    Case("history of an entity", "GET", "/ql/v2/entities/H3?fromDate=2024-03-02", 200,
         before=[("POST", "/v2/op/update", {"actionType": "append", "entities": [
             {"id": "H3", "type": "Sensor", "a": {"value": 1}, "b": {"value": "x"},
              "TimeInstant": {"type": "DateTime", "value": "2024-03-01"}},
             {"id": "H3", "type": "Sensor", "a": {"value": 2},
              "TimeInstant": {"type": "DateTime", "value": "2024-03-02"}}]})],
         body={"entityId": "H3", "entityType": "Sensor", "index": ["2024-03-02T00:00:00.000Z"],
               "attributes": [{"attrName": "a", "values": [2]},
                              {"attrName": "TimeInstant", "values": [
                                  "2024-03-02T00:00:00.000Z"]}]}),
    Case("history of a type", "GET", "/ql/v2/types/Meter/attrs/v?limit=3", 200,
         before=[("POST", "/v2/op/update", {"actionType": "append", "entities": [
             {"id": f"M{i % 2}", "type": "Meter", "v": {"value": i},
              "dateObserved": {"value": f"2024-02-0{i + 1}T00:00:00Z"}} for i in range(4)]})],
         body={"entityType": "Meter", "attrName": "v", "entities": [
             {"entityId": "M0", "index": ["2024-02-01T00:00:00.000Z", "2024-02-03T00:00:00.000Z"],
              "values": [0, 2]},
             {"entityId": "M1", "index": ["2024-02-02T00:00:00.000Z"], "values": [1]}]}),
    Case("history unknown entity is 404", "GET", "/ql/v2/entities/Nope/attrs/a", 404,
         error="NotFound"),
    Case("history limit over 10000 is 400", "GET", "/ql/v2/entities/H1/attrs/a?limit=10001",
         400, error="BadRequest"),
    # --- whole-entity pages (rendered from stored JSON, ADR 0071) ---------------------------
    Case("type page keyValues with count", "GET",
         "/v2/entities?type=Car,Zone&options=keyValues,count&limit=2", 200,
         resp_headers={"fiware-total-count": "3"},
         body=[{"id": "Car1", "type": "Car", "speed": 50, "name": "Tram", "location": {
                    "type": "LineString", "coordinates": [[141.34, 43.05], [141.36, 43.07]]}},
               {"id": "Zone1", "type": "Zone", "name": "Chuo box", "location": {
                   "type": "Polygon", "coordinates": [[[141.30, 43.00], [141.40, 43.00],
                                                      [141.40, 43.10], [141.30, 43.10],
                                                      [141.30, 43.00]]]}}]),
    Case("type page normalized keeps metadata", "GET",
         "/v2/entities?type=Room&attrs=*&limit=1&options=count", 200,
         resp_headers={"fiware-total-count": "3"}, ids=["Room1"]),
    Case("next page after a served page", "GET", "/v2/entities?type=Room&offset=2&limit=2", 200,
         ids=["Room3"]),
]


@pytest.fixture(scope="module")
def client(broker):
    with httpx.Client(base_url=broker.url, timeout=30) as c:
        r = c.post("/v2/op/update", json={"actionType": "append", "entities": DATA}, headers=T)
        assert r.status_code == 204, r.text
        for path, ents in PATH_DATA.items():
            r = c.post("/v2/op/update", json={"actionType": "append", "entities": ents},
                       headers={**T, "Fiware-ServicePath": path})
            assert r.status_code == 204, r.text
        yield c


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_orion_conformance(client, case: Case):
    tenant = _tenant(case)
    for method, path, body in case.before:
        r = client.request(method, path, json=body, headers=tenant)
        assert r.status_code in (201, 204), r.text
    kwargs: dict[str, Any] = {"headers": {**tenant, **case.headers}}
    if case.json is not None:
        kwargs["json"] = case.json
    if case.content is not None:
        kwargs["content"] = case.content
    r = client.request(case.method, case.path, **kwargs)
    assert r.status_code == case.status, r.text
    for key, value in case.resp_headers.items():
        if key == "allow":  # a set of methods, in any order
            assert set(r.headers[key].split(", ")) == set(value.split(", "))
        else:
            assert r.headers.get(key) == value, dict(r.headers)
    if case.status >= 400:
        assert set(r.json()) == {"error", "description"}
    if case.error is not None:
        assert r.json()["error"] == case.error, r.text
    if case.body != "<unchecked>":
        assert r.json() == case.body
    if case.has is not None:
        got = r.json()
        for key, value in case.has.items():
            assert key in got, got
            if value is not ...:
                assert got[key] == value, got
    if case.ids is not None:
        assert [e["id"] for e in r.json()] == case.ids


def test_writes_have_the_documented_effect(client):
    """The write cases above changed exactly what Orion would have changed."""
    kv = {"options": "keyValues"}
    get = lambda eid: client.get(f"/v2/entities/{eid}", params=kv, headers=W).json()  # noqa: E731
    assert get("C4") == {"id": "C4", "type": "W", "b": 2}
    assert get("A1") == {"id": "A1", "type": "W", "a": 1, "b": 2}
    assert get("P1") == {"id": "P1", "type": "W", "a": 5}
    assert get("P3") == {"id": "P3", "type": "W", "a": 5}
    assert get("R1") == {"id": "R1", "type": "W", "c": 3}
    assert get("U1") == {"id": "U1", "type": "W", "a": 9}
    assert get("U3") == {"id": "U3", "type": "W"}
    assert get("V1") == {"id": "V1", "type": "W", "a": 42}
    assert get("V2") == {"id": "V2", "type": "W", "a": {"x": [1, 2]}}
    assert get("B4") == {"id": "B4", "type": "W", "a": 2}
    assert get("B5") == {"id": "B5", "type": "W", "a": 2}
    assert get("B6") == {"id": "B6", "type": "W", "z": 2}
    assert get("B8") == {"id": "B8", "type": "W"}
    assert client.get("/v2/entities/B7", headers=W).status_code == 404
    assert client.get("/v2/entities/D1", headers=W).status_code == 404
    assert client.get("/v2/entities/BadDate", headers=W).status_code == 404
    r = client.get("/v2/entities/Room1", params={"attrs": "dateCreated,dateModified"}, headers=T)
    dates = r.json()
    assert dates["dateCreated"]["type"] == "DateTime"
    assert dates["dateCreated"]["value"].endswith("Z")


_PAGES = [
    {"type": "Room"}, {"type": "Room", "options": "count"}, {"idPattern": ".*"},
    {"type": "Room", "q": "temperature>15"}, {"type": "Room", "orderBy": "!temperature"},
    {"georel": "near;maxDistance:20000", "geometry": "point", "coords": "43.06,141.35"},
    {"georel": "coveredBy", "geometry": "box", "coords": "43.0,141.3;43.1,141.4"},
    {"type": "Zone"}, {"id": "Dup"}, {"type": "Shop", "options": "count"},
    {"q": "address.city==Sapporo"}, {"mq": "temperature.accuracy<1"},
]


@pytest.mark.parametrize("key_values", [False, True], ids=["normalized", "keyValues"])
def test_entity_pages_are_byte_identical_to_the_general_renderer(client, key_values):
    """GET /v2/entities renders whole entities from stored JSON: same bytes as render()."""
    import orjson

    from workbench.server.broker import Broker, open_store

    local = Broker(open_store(":memory:"))  # the same data, rendered by the general path
    local.batch_update("conf", "/", "append", DATA)
    for path, ents in PATH_DATA.items():
        local.batch_update("conf", path, "append", ents)
    requests = [(p, {}) for p in _PAGES] + [
        ({"type": "Shop"}, {"Fiware-ServicePath": "/sapporo/#"}),
        ({"idPattern": "^S"}, {"Fiware-ServicePath": "/otaru"})]
    # paging one by one (forwards, then out of order) resumes from remembered page ends
    requests += [({"limit": "1", "offset": str(i), "options": "count"}, {})
                 for i in [*range(9), 4, 2, 7, 0]]
    for params, headers in requests:
        if key_values:
            params = {**params, "options": ",".join(
                filter(None, [params.get("options"), "keyValues"]))}
        r = client.get("/v2/entities", params=params, headers={**T, **headers})
        assert r.status_code == 200, (params, r.text)
        found, total = local.query_entities("conf", headers.get("Fiware-ServicePath"), params)
        assert r.content == orjson.dumps(found), params
        assert r.headers.get("fiware-total-count") == (None if total is None else str(total))
        assert r.headers["content-type"] == "application/json"
    local.store.close()


def test_request_without_content_length_is_411(client):
    r = client.post("/v2/entities", content=iter([b'{"id": "chunked"}']),
                    headers={**T, "Content-Type": "application/json"})
    assert r.status_code == 411
    assert r.json()["error"] == "LengthRequired"


def test_hostile_queries_never_corrupt_data(client):
    before = client.get("/v2/entities", params={"type": "Room", "options": "count"}, headers=T)
    for q in ["1==1", "a==1'", "a.b.c.d.e.f==1", "'a'==1", "a==a..", "a~=(", "!!a",
              "a==;", ";;", "a==x'; DROP TABLE entities; --'", "\"x\"==1", "a..b==1",
              "temperature==" + ",".join(["1"] * 1001), "a>true", "x" * 9000]:
        r = client.get("/v2/entities", params={"q": q}, headers=T)
        assert r.status_code < 500, (q, r.text)
    after = client.get("/v2/entities", params={"type": "Room", "options": "count"}, headers=T)
    assert after.json() == before.json()
    assert after.headers["fiware-total-count"] == "3"
