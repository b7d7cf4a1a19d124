"""The broker as a domain service, free of HTTP: every NGSI v2 operation of Orion.

Methods take the raw ``Fiware-Service`` / ``Fiware-ServicePath`` values and URL parameters
as strings (exactly what a client sends), validate them as Orion does and raise
:class:`~workbench.server.broker.errors.NgsiError` on any problem. The HTTP layer
(:mod:`~workbench.server.broker.app`) only translates requests and responses; the exchange's
seeder calls :meth:`Broker.batch_update` in-process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from . import history as hist
from .entities import (
    DEFAULT_TYPE,
    Entity,
    check_name,
    entity_geometry,
    format_time,
    normalize_attr,
    normalize_attrs,
    parse_entity,
    render,
)
from .errors import (
    NgsiError,
    attr_not_found,
    bad_request,
    entity_not_found,
    not_found,
    parse_error,
    too_many_results,
    unprocessable,
)
from .query import (
    QuerySpec,
    geo_filter,
    parse_limit,
    parse_options,
    parse_order,
    parse_q,
    render_mode,
    selector,
    split_list,
)
from .store import EntityStore, HistoryPoint
from .tenancy import PathScope, query_scopes, tenant_name, write_path

VERSION = "3.10.1"
ACTIONS = ("append", "appendStrict", "update", "delete", "replace")


@dataclass(slots=True)
class _Op:
    action: str  # create, append, appendStrict, update, replace, delete, delete_attrs
    id: str
    type: str | None
    attrs: dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Failure:
    kind: str  # exists, not_found, too_many, attr_missing, attr_exists
    id: str
    attrs: tuple[str, ...] = ()


class Broker:
    """An Orion-compatible NGSI v2 broker over an :class:`EntityStore`.

    Parameters
    ----------
    store
        Where entities live, e.g. ``open_store("broker.db")``.
    clock
        Returns the current time in epoch seconds (tests may fix it).

    Examples
    --------
    >>> broker = Broker(open_store(":memory:"))
    >>> broker.batch_update("sapporo", "/", "append",
    ...                     [{"id": "s1", "type": "Station", "name": {"value": "Odori"}}])
    >>> broker.get_entity("sapporo", None, "s1", {"options": "keyValues"})
    {'id': 's1', 'type': 'Station', 'name': 'Odori'}
    """

    def __init__(self, store: EntityStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._started = clock()

    # --- metadata ------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """Orion's ``/version`` document."""
        uptime = int(self._clock() - self._started)
        d, rem = divmod(uptime, 86400)
        h, rem = divmod(rem, 3600)
        m, s = divmod(rem, 60)
        return {
            "orion": {
                "version": VERSION,
                "uptime": f"{d} d, {h} h, {m} m, {s} s",
                "git_hash": "nogitversion",
                "compile_time": "nodate",
                "compiled_by": "workbench",
                "compiled_in": "workbench",
                "release_date": "nodate",
                "machine": "python",
                "doc": "https://fiware-orion.rtfd.io/en/master/",
                "libversions": {"sqlite": "json1+rtree"},
            },
            "workbench": {"broker": "sapporo-workbench NGSI v2 broker (Orion-compatible)"},
        }

    # --- reads ---------------------------------------------------------------------------

    def query_entities(self, tenant: str | None, service_path: str | None,
                       params: Mapping[str, str]) -> tuple[list[Any], int | None]:
        """``GET /v2/entities``: one page of entities and the total (``options=count``)."""
        t, options, spec = self._entities_spec(tenant, service_path, params)
        entities, total = self.store.query(t, spec)
        return self._render_many(entities, options, params.get("attrs"),
                                 params.get("metadata")), total

    def query_entities_json(self, tenant: str | None, service_path: str | None,
                            params: Mapping[str, str]) -> tuple[bytes, int | None]:
        """``GET /v2/entities`` as the JSON body the HTTP layer sends, and the total.

        The same bytes as ``orjson.dumps`` of :meth:`query_entities`. Pages of whole
        entities (normalized or keyValues, no ``attrs``, ``metadata`` or date options) are
        rendered by the store from its stored JSON without building entities (ADR 0071).
        """
        t, options, spec = self._entities_spec(tenant, service_path, params)
        mode = render_mode(options)
        if (mode in ("normalized", "keyValues") and params.get("attrs") is None
                and params.get("metadata") is None
                and "dateCreated" not in options and "dateModified" not in options):
            return self.store.query_json(t, spec, key_values=mode == "keyValues")
        entities, total = self.store.query(t, spec)
        return orjson.dumps(self._render_many(entities, options, params.get("attrs"),
                                              params.get("metadata"))), total

    def _entities_spec(self, tenant: str | None, service_path: str | None,
                       params: Mapping[str, str]) -> tuple[str, set[str], QuerySpec]:
        t = tenant_name(tenant)
        options = parse_options(params.get("options"))
        spec = self._spec(params, query_scopes(service_path), options)
        spec.selectors = [
            selector(ids=split_list(params.get("id")), id_pattern=params.get("idPattern"),
                     types=split_list(params.get("type")),
                     type_pattern=params.get("typePattern"))
        ]
        spec.conditions = parse_q(params.get("q")) + parse_q(params.get("mq"), metadata=True)
        spec.geo = geo_filter(params.get("georel"), params.get("geometry"), params.get("coords"))
        self._check_geo_order(spec)
        return t, options, spec

    def batch_query(self, tenant: str | None, service_path: str | None, body: Any,
                    params: Mapping[str, str]) -> tuple[list[Any], int | None]:
        """``POST /v2/op/query``."""
        t = tenant_name(tenant)
        if not isinstance(body, dict):
            raise parse_error("the payload must be a JSON object")
        unknown = set(body) - {"entities", "attrs", "expression", "metadata", "orderBy"}
        if unknown:
            raise bad_request(f"Invalid JSON field for query: {sorted(unknown)[0]}")
        options = parse_options(params.get("options"))
        spec = self._spec(params, query_scopes(service_path), options)
        entities = body.get("entities")
        if entities is not None:
            if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
                raise bad_request("entities must be an array of objects")
            spec.selectors = [self._body_selector(e) for e in entities] or spec.selectors
        expression = body.get("expression") or {}
        if not isinstance(expression, dict):
            raise bad_request("expression must be an object")
        for key, value in expression.items():
            if key not in ("q", "mq", "georel", "geometry", "coords"):
                raise bad_request(f"Invalid JSON field in expression: {key}")
            if not isinstance(value, str):
                raise bad_request(f"expression {key} must be a string")
        spec.conditions = (parse_q(expression.get("q"))
                           + parse_q(expression.get("mq"), metadata=True))
        spec.geo = geo_filter(expression.get("georel"), expression.get("geometry"),
                              expression.get("coords"))
        self._check_geo_order(spec)
        attrs = self._name_list(body.get("attrs"), "attrs")
        metadata = self._name_list(body.get("metadata"), "metadata")
        found, total = self.store.query(t, spec)
        return self._render_many(found, options, ",".join(attrs) if attrs else None,
                                 ",".join(metadata) if metadata else None), total

    def get_entity(self, tenant: str | None, service_path: str | None, entity_id: str,
                   params: Mapping[str, str] | None = None, *, with_id: bool = True) -> Any:
        """``GET /v2/entities/{id}`` (``with_id=False`` for ``.../attrs``)."""
        params = params or {}
        options = parse_options(params.get("options"))
        entity = self._one(tenant, service_path, entity_id, params.get("type"))
        attrs = self._attrs_param(params.get("attrs"), options)
        metadata = split_list(params.get("metadata"))
        return render(entity, mode=render_mode(options), attrs=attrs, metadata=metadata,
                      with_id=with_id)

    def get_attr(self, tenant: str | None, service_path: str | None, entity_id: str,
                 attr: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``GET /v2/entities/{id}/attrs/{attr}``."""
        params = params or {}
        entity = self._one(tenant, service_path, entity_id, params.get("type"))
        if attr in ("dateCreated", "dateModified"):
            t = entity.created if attr == "dateCreated" else entity.modified
            return {"type": "DateTime", "value": format_time(t), "metadata": {}}
        if attr not in entity.attrs:
            raise attr_not_found()
        a = entity.attrs[attr]
        metadata = split_list(params.get("metadata"))
        if metadata is not None and "*" not in metadata:
            a = {**a, "metadata": {k: a["metadata"][k] for k in metadata if k in a["metadata"]}}
        return a

    def get_attr_value(self, tenant: str | None, service_path: str | None, entity_id: str,
                       attr: str, params: Mapping[str, str] | None = None) -> Any:
        """``GET /v2/entities/{id}/attrs/{attr}/value``."""
        return self.get_attr(tenant, service_path, entity_id, attr, params)["value"]

    def list_types(self, tenant: str | None, service_path: str | None,
                   params: Mapping[str, str] | None = None) -> tuple[list[Any], int | None]:
        """``GET /v2/types``."""
        params = params or {}
        options = parse_options(params.get("options"))
        limit, offset = parse_limit(params)
        infos = self.store.types(tenant_name(tenant), query_scopes(service_path))
        total = len(infos) if "count" in options else None
        page = infos[offset:offset + limit]
        if "values" in options:
            return [i.type for i in page], total
        if "noAttrDetail" in options:
            return [{"type": i.type, "attrs": {a: {} for a in i.attrs}, "count": i.count}
                    for i in page], total
        return [{"type": i.type, "attrs": {a: {"types": ts} for a, ts in i.attrs.items()},
                 "count": i.count} for i in page], total

    def get_type(self, tenant: str | None, service_path: str | None,
                 entity_type: str) -> dict[str, Any]:
        """``GET /v2/types/{type}``."""
        check_name(entity_type, "entity type")
        infos = self.store.types(tenant_name(tenant), query_scopes(service_path),
                                 type=entity_type)
        if not infos:
            raise not_found("Entity type not found")
        i = infos[0]
        return {"attrs": {a: {"types": ts} for a, ts in i.attrs.items()}, "count": i.count}

    # --- writes --------------------------------------------------------------------------

    def create_entity(self, tenant: str | None, service_path: str | None, body: Any,
                      params: Mapping[str, str] | None = None) -> tuple[bool, str, str]:
        """``POST /v2/entities``; returns ``(created, id, type)``.

        With ``options=upsert`` an existing entity gets the attributes appended
        (``created`` is then ``False``); otherwise an existing entity is 422 Already Exists.
        """
        params = params or {}
        options = parse_options(params.get("options"))
        entity_id, etype, attrs = parse_entity(body, key_values="keyValues" in options)
        assert etype is not None
        upsert = "upsert" in options
        result = self._apply(tenant, service_path,
                             [_Op("append" if upsert else "create", entity_id, etype, attrs)])
        if result.failures:
            raise unprocessable("Already Exists")
        return bool(result.created), entity_id, etype

    def append_attrs(self, tenant: str | None, service_path: str | None, entity_id: str,
                     body: Any, params: Mapping[str, str] | None = None) -> None:
        """``POST /v2/entities/{id}/attrs`` (``options=append``: only new attributes)."""
        params = params or {}
        options = parse_options(params.get("options"))
        attrs = normalize_attrs(body, key_values="keyValues" in options)
        action = "appendStrict" if "append" in options else "append"
        self._single(tenant, service_path, entity_id, params.get("type"), action, attrs)

    def update_attrs(self, tenant: str | None, service_path: str | None, entity_id: str,
                     body: Any, params: Mapping[str, str] | None = None) -> None:
        """``PATCH /v2/entities/{id}/attrs``: update existing attributes only."""
        params = params or {}
        options = parse_options(params.get("options"))
        attrs = normalize_attrs(body, key_values="keyValues" in options)
        self._single(tenant, service_path, entity_id, params.get("type"), "update", attrs)

    def replace_attrs(self, tenant: str | None, service_path: str | None, entity_id: str,
                      body: Any, params: Mapping[str, str] | None = None) -> None:
        """``PUT /v2/entities/{id}/attrs``: replace every attribute."""
        params = params or {}
        options = parse_options(params.get("options"))
        attrs = normalize_attrs(body, key_values="keyValues" in options)
        self._single(tenant, service_path, entity_id, params.get("type"), "replace", attrs)

    def update_attr(self, tenant: str | None, service_path: str | None, entity_id: str,
                    attr: str, body: Any, params: Mapping[str, str] | None = None) -> None:
        """``PUT /v2/entities/{id}/attrs/{attr}``."""
        params = params or {}
        check_name(attr, "attribute name")
        a = normalize_attr(attr, body)
        self._single(tenant, service_path, entity_id, params.get("type"), "update", {attr: a},
                     missing_is_404=True)

    def set_attr_value(self, tenant: str | None, service_path: str | None, entity_id: str,
                       attr: str, value: Any, params: Mapping[str, str] | None = None) -> None:
        """``PUT /v2/entities/{id}/attrs/{attr}/value`` (keeps the type unless inferred)."""
        params = params or {}
        check_name(attr, "attribute name")
        entity = self._one(tenant, service_path, entity_id, params.get("type"))
        old = entity.attrs.get(attr)
        if old is None:
            raise attr_not_found()
        keep = old["type"] if old["type"] not in ("Text", "Number", "Boolean", "None",
                                                 "StructuredValue") else None
        a = normalize_attr(attr, {"value": value, **({"type": keep} if keep else {})})
        self._single(tenant, service_path, entity_id, entity.type, "update", {attr: a},
                     missing_is_404=True)

    def delete_attr(self, tenant: str | None, service_path: str | None, entity_id: str,
                    attr: str, params: Mapping[str, str] | None = None) -> None:
        """``DELETE /v2/entities/{id}/attrs/{attr}``."""
        params = params or {}
        check_name(attr, "attribute name")
        self._single(tenant, service_path, entity_id, params.get("type"), "delete_attrs",
                     {attr: {}})

    def delete_entity(self, tenant: str | None, service_path: str | None, entity_id: str,
                      params: Mapping[str, str] | None = None) -> None:
        """``DELETE /v2/entities/{id}``."""
        params = params or {}
        self._single(tenant, service_path, entity_id, params.get("type"), "delete", {})

    def batch_update(self, tenant: str | None, service_path: str | None, action_type: str,
                     entities: Sequence[Any], *, key_values: bool = False) -> None:
        """``POST /v2/op/update``: apply one action to many entities in one transaction.

        Parameters
        ----------
        tenant, service_path
            ``Fiware-Service`` and ``Fiware-ServicePath`` (one path, default ``/``).
        action_type
            ``append``, ``appendStrict``, ``update``, ``delete`` or ``replace``.
        entities
            Entity payloads. The same id may repeat (e.g. a daily time series with
            different ``dateObserved``): each occurrence is applied in order and recorded as
            a history point.
        key_values
            Attribute values are bare values (``options=keyValues``).

        Raises
        ------
        NgsiError
            400 on a malformed payload (nothing is applied); 422 ``Unprocessable`` when no
            entity could be processed, ``PartialUpdate`` when only some could.
        """
        if action_type not in ACTIONS:
            raise bad_request(
                f"invalid update action type {str(action_type)[:40]!r}: use one of "
                + ", ".join(ACTIONS)
            )
        if not isinstance(entities, list | tuple):
            raise bad_request("entities must be an array")
        ops = []
        for raw in entities:
            entity_id, etype, attrs = parse_entity(
                raw, key_values=key_values,
                default_type=DEFAULT_TYPE if action_type.startswith("append") else None,
            )
            action = "delete_attrs" if action_type == "delete" and attrs else action_type
            ops.append(_Op(action, entity_id, etype, attrs))
        if not ops:
            raise bad_request("empty entities array in batch update")
        result = self._apply(tenant, service_path, ops)
        if result.failures:
            raise unprocessable(_describe(result.failures),
                                partial=len(result.failed_ops) < len(ops))

    # --- history ---------------------------------------------------------------------------

    def history_attr(self, tenant: str | None, service_path: str | None, entity_id: str,
                     attr: str, params: Mapping[str, str] | None = None
                     ) -> tuple[dict[str, Any], int | None]:
        """``GET /ql/v2/entities/{id}/attrs/{attr}``."""
        return hist.entity_attr(self.store, tenant_name(tenant), query_scopes(service_path),
                                entity_id, attr, params or {})

    def history_entity(self, tenant: str | None, service_path: str | None, entity_id: str,
                       params: Mapping[str, str] | None = None
                       ) -> tuple[dict[str, Any], int | None]:
        """``GET /ql/v2/entities/{id}``."""
        return hist.entity(self.store, tenant_name(tenant), query_scopes(service_path),
                           entity_id, params or {})

    def history_type_attr(self, tenant: str | None, service_path: str | None,
                          entity_type: str, attr: str, params: Mapping[str, str] | None = None
                          ) -> tuple[dict[str, Any], int | None]:
        """``GET /ql/v2/types/{type}/attrs/{attr}``."""
        return hist.type_attr(self.store, tenant_name(tenant), query_scopes(service_path),
                              entity_type, attr, params or {})

    # --- internals -------------------------------------------------------------------------

    def _spec(self, params: Mapping[str, str], scopes: list[PathScope],
              options: set[str]) -> QuerySpec:
        limit, offset = parse_limit(params)
        return QuerySpec(scopes=scopes, order=parse_order(params.get("orderBy")),
                         limit=limit, offset=offset, count="count" in options)

    @staticmethod
    def _check_geo_order(spec: QuerySpec) -> None:
        keys = [k for k, _ in spec.order]
        if "geo:distance" in keys:
            if spec.geo is None or spec.geo.georel != "near":
                raise bad_request("orderBy=geo:distance needs a georel=near query")
            if keys[0] != "geo:distance":
                raise bad_request("geo:distance must be the first orderBy key")

    @staticmethod
    def _name_list(value: Any, what: str) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"{what} must be an array of strings")
        return value or None

    @staticmethod
    def _body_selector(e: dict[str, Any]):
        unknown = set(e) - {"id", "idPattern", "type", "typePattern"}
        if unknown:
            raise bad_request(f"Invalid JSON field in entities: {sorted(unknown)[0]}")
        for k, v in e.items():
            if not isinstance(v, str):
                raise bad_request(f"entities {k} must be a string")
        return selector(
            ids=[e["id"]] if "id" in e else None, id_pattern=e.get("idPattern"),
            types=[e["type"]] if "type" in e else None, type_pattern=e.get("typePattern"))

    @staticmethod
    def _attrs_param(raw: str | None, options: set[str]) -> list[str] | None:
        attrs = split_list(raw)
        extra = [b for b in ("dateCreated", "dateModified") if b in options]
        if extra:
            attrs = (attrs or ["*"]) + [b for b in extra if not attrs or b not in attrs]
        return attrs

    def _render_many(self, entities: list[Entity], options: set[str], attrs_raw: str | None,
                     metadata_raw: str | None) -> list[Any]:
        mode = render_mode(options)
        attrs = self._attrs_param(attrs_raw, options)
        metadata = split_list(metadata_raw)
        out = [render(e, mode=mode, attrs=attrs, metadata=metadata) for e in entities]
        if mode == "unique":
            seen, uniq = set(), []
            for v in out:
                key = repr(v)
                if key not in seen:
                    seen.add(key)
                    uniq.append(v)
            out = uniq
        return out

    def _one(self, tenant: str | None, service_path: str | None, entity_id: str,
             entity_type: str | None) -> Entity:
        check_name(entity_id, "entity id")
        if entity_type is not None:
            check_name(entity_type, "entity type")
        found = self.store.find(tenant_name(tenant), [entity_id], query_scopes(service_path),
                                type=entity_type)
        if not found:
            raise entity_not_found()
        if len(found) > 1:
            raise too_many_results()
        return found[0]

    def _single(self, tenant: str | None, service_path: str | None, entity_id: str,
                entity_type: str | None, action: str, attrs: dict[str, Any], *,
                missing_is_404: bool = False) -> None:
        check_name(entity_id, "entity id")
        if entity_type is not None:
            check_name(entity_type, "entity type")
        result = self._apply(tenant, service_path, [_Op(action, entity_id, entity_type, attrs)],
                             must_exist=True)
        if not result.failures:
            return
        f = result.failures[0]
        if f.kind == "not_found":
            raise entity_not_found()
        if f.kind == "too_many":
            raise too_many_results()
        if action == "delete_attrs" or missing_is_404:
            raise attr_not_found()
        if f.kind == "attr_exists":
            raise unprocessable(f"Attribute already exists: {', '.join(f.attrs)}",
                                partial=len(f.attrs) < len(attrs))
        raise unprocessable(_describe(result.failures), partial=len(f.attrs) < len(attrs))

    def _apply(self, tenant: str | None, service_path: str | None, ops: list[_Op], *,
               must_exist: bool = False) -> _Result:
        t = tenant_name(tenant)
        sp = write_path(service_path)
        now = self._clock()
        now_iso = format_time(now)
        result = _Result()
        with self.store.transaction():
            live: dict[str, dict[str, Entity]] = {}
            for e in self.store.find(t, [op.id for op in ops], [PathScope(sp, False)]):
                live.setdefault(e.id, {})[e.type] = e
            new: dict[int, Entity] = {}
            dirty: dict[int, Entity] = {}
            deleted: list[Entity] = []
            points: list[HistoryPoint] = []
            for i, op in enumerate(ops):
                failure = _apply_one(op, live, new, dirty, deleted, sp, now, must_exist)
                if failure is not None:
                    result.failures.append(failure)
                    result.failed_ops.add(i)
                    continue
                if op.action not in ("delete", "delete_attrs") and op.attrs:
                    etype = op.type or next(iter(live[op.id]))
                    points.extend(hist.points(sp, op.id, etype, op.attrs, now_iso))
            for e in list(new.values()) + list(dirty.values()):
                e.geometry = entity_geometry(e.attrs)
            self.store.delete(t, deleted)
            self.store.insert(t, list(new.values()))
            self.store.update(t, [e for e in dirty.values() if id(e) not in new])
            self.store.add_history(t, points)
            result.created = len(new)
        return result


@dataclass(slots=True)
class _Result:
    failures: list[_Failure]
    failed_ops: set[int]
    created: int

    def __init__(self) -> None:
        self.failures = []
        self.failed_ops = set()
        self.created = 0


def _target(op: _Op, live: dict[str, dict[str, Entity]]) -> Entity | None | _Failure:
    by_type = live.get(op.id)
    if not by_type:
        return None
    if op.type is not None:
        return by_type.get(op.type)
    if len(by_type) > 1:
        return _Failure("too_many", op.id)
    return next(iter(by_type.values()))


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    if old["metadata"] and new["metadata"] is not old["metadata"]:
        return {**new, "metadata": {**old["metadata"], **new["metadata"]}}
    return new


def _apply_one(op: _Op, live: dict[str, dict[str, Entity]], new: dict[int, Entity],
               dirty: dict[int, Entity], deleted: list[Entity], sp: str, now: float,
               must_exist: bool) -> _Failure | None:
    target = _target(op, live)
    if isinstance(target, _Failure):
        return target
    action = op.action
    if target is None:
        if action in ("create", "append", "appendStrict") and not must_exist:
            e = Entity(op.id, op.type or DEFAULT_TYPE, sp, dict(op.attrs), now, now)
            live.setdefault(op.id, {})[e.type] = e
            new[id(e)] = e
            op.type = e.type
            return None
        return _Failure("not_found", op.id)
    if action == "create":
        return _Failure("exists", op.id)
    attrs = target.attrs
    if action == "delete":
        del live[op.id][target.type]
        if id(target) in new:
            del new[id(target)]
        else:
            dirty.pop(id(target), None)
            deleted.append(target)
        return None
    if action == "delete_attrs":
        missing = tuple(n for n in op.attrs if n not in attrs)
        if missing:
            return _Failure("attr_missing", op.id, missing)
        for n in op.attrs:
            del attrs[n]
    elif action == "replace":
        target.attrs = dict(op.attrs)
    elif action == "update":
        missing = tuple(n for n in op.attrs if n not in attrs)
        for n, a in op.attrs.items():
            if n in attrs:
                attrs[n] = _merge(attrs[n], a)
        if missing:
            _touch(target, new, dirty, now)
            return _Failure("attr_missing", op.id, missing)
    elif action == "appendStrict":
        present = tuple(n for n in op.attrs if n in attrs)
        for n, a in op.attrs.items():
            if n not in attrs:
                attrs[n] = a
        if present:
            _touch(target, new, dirty, now)
            return _Failure("attr_exists", op.id, present)
    else:  # append
        for n, a in op.attrs.items():
            attrs[n] = _merge(attrs[n], a) if n in attrs else a
    op.type = target.type
    _touch(target, new, dirty, now)
    return None


def _touch(e: Entity, new: dict[int, Entity], dirty: dict[int, Entity], now: float) -> None:
    e.modified = now
    if id(e) not in new:
        dirty[id(e)] = e


def _describe(failures: Iterable[_Failure]) -> str:
    groups: dict[str, list[str]] = {}
    for f in failures:
        if f.kind == "not_found":
            groups.setdefault("do not exist", []).append(f"{f.id} - [ entity itself ]")
        elif f.kind == "exists":
            groups.setdefault("already exist", []).append(f"{f.id} - [ entity itself ]")
        elif f.kind == "too_many":
            groups.setdefault("too many matching entities (give a type)", []).append(f.id)
        elif f.kind == "attr_exists":
            groups.setdefault("attributes already exist", []).append(
                f"{f.id} - [ {', '.join(f.attrs)} ]")
        else:
            groups.setdefault("one or more of the attributes in the request do not exist",
                              []).append(f"{f.id} - [ {', '.join(f.attrs)} ]")
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())


__all__ = ["Broker", "NgsiError"]
