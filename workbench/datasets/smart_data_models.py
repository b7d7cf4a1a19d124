"""Frames → NGSI v2 *normalized* entities, using FIWARE Smart Data Models where one fits.

Types (see ``docs/adr/0031-smart-data-models-mapping.md``):

=====================================  ==============================  ==================
product data                           entity type                     Smart Data Model
=====================================  ==============================  ==================
wards, census small areas              ``AdministrativeArea``          none fits: SDM-style
population by ward, age band, year     ``PopulationObserved``          none fits: SDM-style
rail stations and tram stops           ``PublicTransportStop``         UrbanMobility
subway lines                           ``PublicTransportRoute``        UrbanMobility
city roads                             ``RoadSegment``                 Transportation
schools, nurseries, hospitals, sites   ``PointOfInterest``             PointOfInterest
subway ridership (synthetic)           ``RidershipObserved``           SDM-style, with
                                                                       ``peopleCount``
pedestrian counts (synthetic)          ``CrowdFlowObserved``           Transportation
health points, individual (synthetic)  ``PhysicalActivityObserved``    none fits: SDM-style
health points, aggregate (synthetic)   ``PhysicalActivityStatistics``  none fits: SDM-style
=====================================  ==============================  ==================

Ids follow the SDM convention ``urn:ngsi-ld:<Type>:sapporo:<local id>``. Time series are
NGSI history: one static entity, then *history updates* — small entities with the same id
carrying ``dateObserved`` and the observed attributes — written in time order (per entity)
with batch updates, so that the broker's ``/ql/v2`` history holds the series. Daily and
monthly values are stamped at midnight UTC of their date (a date label); hourly values at
the real instant. The hourly pedestrian counts and their open daily aggregate use the same
``CrowdFlowObserved`` entities in two products (tenants).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import mapping

from workbench.datasets.transit import SUBWAY_LINES

PREFIX = "urn:ngsi-ld"
CITY = "sapporo"
#: GTFS route_type, the SDM ``transportationType`` code
TRANSPORTATION_TYPE = {"tram": 0, "subway": 1, "jr": 2}


def entity_id(entity_type: str, local_id: str) -> str:
    """Return ``urn:ngsi-ld:<type>:sapporo:<local id>``."""
    return f"{PREFIX}:{entity_type}:{CITY}:{local_id}"


# --------------------------------------------------------------------------- attributes


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _iso(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return str(value)


def attribute(value: Any, *, ngsi_type: str | None = None) -> dict[str, Any]:
    """Return a normalized NGSI v2 attribute ``{"type", "value"}`` for a Python value.

    Numbers become ``Number``, booleans ``Boolean``, timestamps ``DateTime`` (naive means UTC),
    shapely geometries ``geo:json``, lists and dicts ``StructuredValue``, missing values
    ``None`` with value ``null``.
    """
    if hasattr(value, "__geo_interface__") and not isinstance(value, dict):
        return {"type": ngsi_type or "geo:json", "value": _plain(mapping(value))}
    if isinstance(value, np.generic):
        value = value.item()
    if _is_missing(value):
        return {"type": ngsi_type or "None", "value": None}
    if isinstance(value, bool):
        return {"type": ngsi_type or "Boolean", "value": value}
    if isinstance(value, int | float):
        return {"type": ngsi_type or "Number", "value": value}
    if isinstance(value, datetime | date | pd.Timestamp):
        return {"type": "DateTime", "value": _iso(value)}
    if isinstance(value, list | tuple | np.ndarray):
        return {"type": ngsi_type or "StructuredValue", "value": [_plain(v) for v in value]}
    if isinstance(value, dict):
        return {"type": ngsi_type or "StructuredValue", "value": _plain(value)}
    return {"type": ngsi_type or "Text", "value": str(value)}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if _is_missing(value):
        return None
    return value


def entities_from_frame(
    frame: pd.DataFrame,
    *,
    entity_type: str,
    ids: Iterable[str],
    attrs: Mapping[str, str],
    constant: Mapping[str, Any] | None = None,
    geometry: str | None = "location",
    keep_missing: bool = False,
) -> list[dict[str, Any]]:
    """Turn each row of ``frame`` into a normalized NGSI v2 entity.

    Parameters
    ----------
    frame
        One row per entity (a GeoDataFrame's geometry becomes ``geometry``, as geo:json).
    entity_type, ids
        The entity type and one id per row.
    attrs
        Column name → attribute name.
    constant
        Attributes with the same value on every entity (e.g. ``dataProvider``).
    keep_missing
        Write missing values as ``null`` (history); by default they are left out.
    """
    columns = {name: frame[col].tolist() for col, name in attrs.items()}
    geoms = (
        frame.geometry.tolist()
        if geometry and hasattr(frame, "geometry") and "geometry" in frame
        else None
    )
    fixed = {k: attribute(v) for k, v in (constant or {}).items()}
    out = []
    for i, eid in enumerate(ids):
        entity: dict[str, Any] = {"id": eid, "type": entity_type}
        for name, values in columns.items():
            value = values[i]
            if not keep_missing and not isinstance(value, list | np.ndarray) and _is_missing(
                value
            ):
                continue
            entity[name] = attribute(value)
        if geoms is not None and geoms[i] is not None:
            entity[geometry] = attribute(geoms[i])
        entity.update(fixed)
        out.append(entity)
    return out


def _provenance(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "dataProvider": frame.attrs.get("title", ""),
        "source": frame.attrs.get("attribution", ""),
    }


# --------------------------------------------------------------------------- open data


def ward_entities(wards: pd.DataFrame, *, include_city: bool = True) -> list[dict[str, Any]]:
    """Wards → ``AdministrativeArea`` (``administrativeLevel`` ``"ward"``), and the whole
    city (``areaCode`` ``01100``, ``administrativeLevel`` ``"city"``, the wards' union)."""
    entities = entities_from_frame(
        wards,
        entity_type="AdministrativeArea",
        ids=[entity_id("AdministrativeArea", c) for c in wards["ward_code"]],
        attrs={"ward_code": "areaCode", "ward_name_ja": "name", "ward_name_en": "alternateName",
               "pop_census2020": "population", "households_census2020": "households",
               "area_km2": "areaKm2"},
        constant={"administrativeLevel": "ward", "addressLocality": "札幌市",
                  **_provenance(wards)},
    )
    if include_city:
        city = {
            "id": entity_id("AdministrativeArea", "01100"), "type": "AdministrativeArea",
            "areaCode": attribute("01100"), "name": attribute("札幌市"),
            "alternateName": attribute("Sapporo"),
            "population": attribute(int(wards["pop_census2020"].sum())),
            "households": attribute(int(wards["households_census2020"].sum())),
            "areaKm2": attribute(round(float(wards["area_km2"].sum()), 2)),
            "location": attribute(wards.geometry.union_all()),
            "administrativeLevel": attribute("city"),
            "addressLocality": attribute("札幌市"),
            **{k: attribute(v) for k, v in _provenance(wards).items()},
        }
        entities.append(city)
    return entities


_AGE_ATTR = {
    "total": "population",
    "pop_0_14": "population0To14",
    "pop_15_64": "population15To64",
    "pop_65_plus": "population65Plus",
}


def _age_attr(column: str) -> str:
    if column in _AGE_ATTR:
        return _AGE_ATTR[column]
    parts = column.split("_")  # age_0_4, age_100_plus
    return f"age{parts[1]}Plus" if parts[2] == "plus" else f"age{parts[1]}To{parts[2]}"


def population_entities(population: pd.DataFrame) -> list[dict[str, Any]]:
    """Population by ward (or city), year and age band → one ``PopulationObserved`` each.

    Attributes ``population``, ``population0To14`` ... and ``age0To4`` ... ``age100Plus``,
    ``year``, ``dateObserved`` (1 October), ``refAdministrativeArea``.
    """
    age_cols = [c for c in population.columns if c == "total" or c.startswith(("pop_", "age_"))]
    frame = population.assign(
        _ref=[entity_id("AdministrativeArea", c) for c in population["ward_code"]]
    )
    attrs = {"ward_code": "areaCode", "ward_name": "name", "year": "year",
             "as_of": "dateObserved", "_ref": "refAdministrativeArea"}
    attrs.update({c: _age_attr(c) for c in age_cols})
    ids = [entity_id("PopulationObserved", f"{c}:{y}")
           for c, y in zip(population["ward_code"], population["year"], strict=True)]
    entities = entities_from_frame(frame, entity_type="PopulationObserved", ids=ids, attrs=attrs,
                                   constant=_provenance(population), geometry=None)
    for e in entities:
        e["refAdministrativeArea"]["type"] = "Relationship"
    return entities


def small_area_entities(
    small_areas: pd.DataFrame, population: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """Census small areas → ``AdministrativeArea`` (``administrativeLevel`` ``"smallArea"``).

    With ``population`` (the city's small-area table for one year), adds
    ``population0To14``, ``population15To64``, ``population65Plus`` where the area name
    matches (about 99% of areas).
    """
    frame = small_areas.copy()
    attrs = {"key_code": "areaCode", "name": "name", "ward_code": "wardId",
             "population": "population", "households": "households", "area_m2": "areaM2"}
    if population is not None:
        pop = population.drop_duplicates(["ward_code", "area_key"])
        pop = pop[["ward_code", "area_key", "pop_0_14", "pop_15_64", "pop_65_plus", "year"]]
        frame = frame.merge(pop.rename(columns={"area_key": "name_key"}),
                            on=["ward_code", "name_key"], how="left")
        frame = type(small_areas)(frame, geometry="geometry", crs=small_areas.crs)
        frame["year"] = frame["year"].astype("Int64")
        attrs.update(pop_0_14="population0To14", pop_15_64="population15To64",
                     pop_65_plus="population65Plus", year="ageBandYear")
    constant = {"administrativeLevel": "smallArea", "censusYear": 2020,
                **_provenance(small_areas)}
    if population is not None:
        constant["source"] = (small_areas.attrs.get("attribution", "") + " ／ "
                              + population.attrs.get("attribution", ""))
    return entities_from_frame(
        frame, entity_type="AdministrativeArea",
        ids=[entity_id("AdministrativeArea", k) for k in frame["key_code"]],
        attrs=attrs, constant=constant,
    )


def station_entities(stations: pd.DataFrame) -> list[dict[str, Any]]:
    """Stations → ``PublicTransportStop`` (``stopCode``, ``transportationType`` GTFS code).

    ``footprint`` (geo:json, ``ignoreType``: not used by geo-queries) is the station's
    extent along its track, where walking analyses place its entrances.
    """
    refs = [
        [entity_id("PublicTransportRoute", f"{SUBWAY_LINES[line][0]}-{d}") for d in (1, 2)]
        if mode == "subway" and line in SUBWAY_LINES else []
        for mode, line in zip(stations["mode"], stations["line"], strict=True)
    ]
    frame = stations.assign(
        _type=[TRANSPORTATION_TYPE[m] for m in stations["mode"]], _refs=refs
    )
    entities = entities_from_frame(
        frame, entity_type="PublicTransportStop",
        ids=[entity_id("PublicTransportStop", s) for s in stations["station_id"]],
        attrs={"station": "name", "station_id": "stopCode", "_type": "transportationType",
               "mode": "mode", "line": "lineName", "operator": "operator",
               "ward_code": "wardId", "_refs": "refPublicTransportRoute",
               **({"footprint": "footprint"} if "footprint" in stations else {})},
        constant=_provenance(stations),
    )
    for e in entities:
        if not e["refPublicTransportRoute"]["value"]:
            del e["refPublicTransportRoute"]
        if "footprint" in e:
            # a second geometry: Orion's convention keeps it out of geo-queries
            e["footprint"]["metadata"] = {"ignoreType": {"type": "Boolean", "value": True}}
    return entities


def subway_line_entities(lines: pd.DataFrame, stations: pd.DataFrame) -> list[dict[str, Any]]:
    """Subway lines → ``PublicTransportRoute`` with ``refPublicTransportStops`` in order."""
    stops = []
    for ref, line_id in zip(lines["ref"], lines["line_id"], strict=True):
        codes = sorted(c for c in stations["station_code"].dropna() if c.startswith(ref))
        if line_id.endswith("-2"):
            codes = codes[::-1]
        stops.append([entity_id("PublicTransportStop", c) for c in codes])
    frame = lines.assign(
        _colour=[c.lstrip("#") for c in lines["colour"]], _stops=stops, _type=1
    )
    return entities_from_frame(
        frame, entity_type="PublicTransportRoute",
        ids=[entity_id("PublicTransportRoute", i) for i in lines["line_id"]],
        attrs={"name": "name", "name_en": "alternateName", "ref": "routeCode",
               "_colour": "routeColor", "_type": "transportationType",
               "_stops": "refPublicTransportStops"},
        constant=_provenance(lines),
    )


def road_entities(roads: pd.DataFrame) -> list[dict[str, Any]]:
    """City roads → ``RoadSegment`` (``length`` in metres, ``wardId``, LineString)."""
    return entities_from_frame(
        roads, entity_type="RoadSegment",
        ids=[entity_id("RoadSegment", str(s)) for s in roads["segment_id"]],
        attrs={"length_m": "length", "ward_code": "wardId"},
        constant={"roadClass": "municipal", "cityName": "札幌市", **_provenance(roads)},
    )


def facility_entities(facilities: pd.DataFrame) -> list[dict[str, Any]]:
    """Facilities → ``PointOfInterest`` (``category`` = ``[kind]``, ``capacity`` ...)."""
    frame = facilities.assign(
        _category=[[k] for k in facilities["kind"]],
        _address=[{"streetAddress": a, "addressLocality": "札幌市", "addressCountry": "JP"}
                  if isinstance(a, str) else None for a in facilities["address"]],
        _hazards=[list(h) if len(h) else None for h in facilities["hazards"]],
    )
    return entities_from_frame(
        frame, entity_type="PointOfInterest",
        ids=[entity_id("PointOfInterest", f) for f in facilities["facility_id"]],
        attrs={"name": "name", "_category": "category", "kind": "facilityKind",
               "_address": "address", "ward_code": "wardId", "capacity": "capacity",
               "emergency": "emergencyCare", "category_detail": "description",
               "_hazards": "evacuationHazards"},
        constant=_provenance(facilities),
    )


# --------------------------------------------------------------------------- history


def history_updates(
    frame: pd.DataFrame,
    *,
    entity_type: str,
    ids: Iterable[str],
    time_column: str,
    attrs: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Rows → history updates ``{id, type, dateObserved, <attrs>}``, grouped by entity and in
    time order within each entity (so that a batch touches few entities: fast to load).

    Missing values are written as ``null`` so that the series keeps its gaps.
    """
    ids = np.asarray(list(ids), dtype=object)
    order = np.lexsort((frame[time_column].to_numpy(), ids))  # by entity, then time
    frame = frame.iloc[order]
    ids = ids[order]
    times = [_iso(t) for t in frame[time_column]]
    columns = {name: frame[col].tolist() for col, name in attrs.items()}
    out = []
    for i, eid in enumerate(ids):
        entity = {"id": eid, "type": entity_type,
                  "dateObserved": {"type": "DateTime", "value": times[i]}}
        for name, values in columns.items():
            entity[name] = attribute(values[i], ngsi_type=_NUMERIC.get(name))
        out.append(entity)
    return out


# attributes that stay ``Number`` (or ``Boolean``) even when a value is missing
_NUMERIC = {"peopleCount": "Number", "personCount": "Number", "dailyStepsMean": "Number",
            "pointsMean": "Number", "daysObserved": "Number", "pointsEarned": "Number",
            "enrolled": "Boolean", "suppressed": "Boolean"}


def ridership_entities(ridership) -> tuple[list[dict], list[dict]]:
    """Synthetic ridership → (static ``RidershipObserved`` per station, daily history)."""
    stations = ridership.stations
    static = entities_from_frame(
        stations, entity_type="RidershipObserved",
        ids=[entity_id("RidershipObserved", c) for c in stations["station_code"]],
        attrs={"station": "name", "station_code": "stationCode", "line": "lineName",
               "ward_code": "wardId"},
        constant={"synthetic": True, "dataProvider": ridership.daily.attrs["title"],
                  "source": ridership.daily.attrs["attribution"]},
    )
    for e, code in zip(static, stations["station_code"], strict=True):
        e["refPublicTransportStop"] = {"type": "Relationship",
                                       "value": entity_id("PublicTransportStop", code)}
    daily = ridership.daily
    history = history_updates(
        daily, entity_type="RidershipObserved",
        ids=[entity_id("RidershipObserved", c) for c in daily["station_code"]],
        time_column="date", attrs={"boardings": "peopleCount"},
    )
    return static, history


def pedestrian_entities(counts) -> tuple[list[dict], list[dict]]:
    """Synthetic pedestrian counts → (static ``CrowdFlowObserved`` per sensor, hourly history)."""
    sensors = counts.sensors
    static = entities_from_frame(
        sensors, entity_type="CrowdFlowObserved",
        ids=[entity_id("CrowdFlowObserved", s) for s in sensors["sensor_id"]],
        attrs={"name": "name", "sensor_id": "sensorId", "level": "level",
               "weekday_daily_count": "typicalWeekdayCount"},
        constant={"synthetic": True, "dataProvider": counts.hourly.attrs["title"],
                  "source": counts.hourly.attrs["attribution"]},
    )
    hourly = counts.hourly
    history = history_updates(
        hourly, entity_type="CrowdFlowObserved",
        ids=[entity_id("CrowdFlowObserved", s) for s in hourly["sensor_id"]],
        time_column="time", attrs={"count": "peopleCount"},
    )
    return static, history


def pedestrian_daily_entities(counts) -> tuple[list[dict], list[dict]]:
    """Synthetic pedestrian counts → (static ``CrowdFlowObserved`` per sensor, daily history).

    The open aggregate: ``peopleCount`` is the sensor's total of a calendar day in Japan time
    (:func:`workbench.datasets.pedestrians.daily_pedestrian_counts`), indexed by the date at
    midnight UTC like the daily ridership.
    """
    daily = counts.daily()
    sensors = counts.sensors
    static = entities_from_frame(
        sensors, entity_type="CrowdFlowObserved",
        ids=[entity_id("CrowdFlowObserved", s) for s in sensors["sensor_id"]],
        attrs={"name": "name", "sensor_id": "sensorId", "level": "level",
               "weekday_daily_count": "typicalWeekdayCount"},
        constant={"synthetic": True, "dataProvider": daily.attrs["title"],
                  "source": daily.attrs["attribution"]},
    )
    history = history_updates(
        daily, entity_type="CrowdFlowObserved",
        ids=[entity_id("CrowdFlowObserved", s) for s in daily["sensor_id"]],
        time_column="date", attrs={"count": "peopleCount"},
    )
    return static, history


def health_individual_entities(result) -> tuple[list[dict], list[dict]]:
    """Synthetic health points → (one ``PhysicalActivityObserved`` per person, monthly history)."""
    people = result.people
    static = entities_from_frame(
        people, entity_type="PhysicalActivityObserved",
        ids=[entity_id("PhysicalActivityObserved", p) for p in people["person_id"]],
        attrs={"person_id": "personId", "group": "group", "age_band": "ageBand", "sex": "sex",
               "ward_code": "wardId", "home_area_key": "homeAreaKey",
               "enrolment_wave": "enrolmentWave", "enrolled_on": "enrolmentDate"},
        constant={"synthetic": True, "dataProvider": people.attrs["title"],
                  "source": people.attrs["attribution"]},
        geometry=None,
    )
    monthly = result.monthly
    history = history_updates(
        monthly, entity_type="PhysicalActivityObserved",
        ids=[entity_id("PhysicalActivityObserved", p) for p in monthly["person_id"]],
        time_column="month",
        attrs={"steps_mean": "dailyStepsMean", "days_observed": "daysObserved",
               "points": "pointsEarned", "enrolled": "enrolled"},
    )
    return static, history


def _cell_id(ward: str, band: str, status: str) -> str:
    band = band.replace("+", "plus")
    return entity_id("PhysicalActivityStatistics",
                     f"{ward}:{band}:{status}".replace("All", "all"))


def health_aggregate_entities(table: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """Suppressed aggregate → (one ``PhysicalActivityStatistics`` per ward × age band ×
    status, including ``All`` totals, with the monthly cells as history)."""
    cells = table[["ward_code", "age_band", "status"]].drop_duplicates().reset_index(drop=True)
    ids = [_cell_id(w, b, s) for w, b, s in cells.itertuples(index=False)]
    static = entities_from_frame(
        cells, entity_type="PhysicalActivityStatistics", ids=ids,
        attrs={"ward_code": "wardId", "age_band": "ageBand", "status": "status"},
        constant={"synthetic": True, "suppressionThreshold":
                  int(table.attrs.get("suppression_threshold", 10)),
                  "dataProvider": table.attrs.get("title", ""),
                  "source": table.attrs.get("attribution", "")},
        geometry=None,
    )
    frame = table.assign(_month=pd.to_datetime(table["month"] + "-01"))
    history = history_updates(
        frame, entity_type="PhysicalActivityStatistics",
        ids=[_cell_id(w, b, s) for w, b, s in zip(
            table["ward_code"], table["age_band"], table["status"], strict=True)],
        time_column="_month",
        attrs={"persons": "personCount", "steps_mean": "dailyStepsMean",
               "points_mean": "pointsMean", "suppressed": "suppressed"},
    )
    return static, history
