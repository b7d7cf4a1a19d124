"""folium maps that work offline: Leaflet served from the package, ward polygons as the base.

No machine here reaches a CDN, so every map this module builds inlines the Leaflet 1.9.4
JavaScript and CSS vendored under ``workbench/static/leaflet`` (its images become ``data:``
URIs) and drops folium's default CDN links (Leaflet, jQuery, Bootstrap, Font Awesome,
awesome-markers). The ten wards of Sapporo make the base layer; web map tiles are added only
when configured (the ``tiles`` argument or the ``WORKBENCH_TILES`` environment variable).

Typical use::

    from workbench import maps

    m = maps.base_map(wards=wards)                       # offline base: ward polygons
    maps.choropleth(areas, "score", m=m, legend_name="walk score")
    maps.add_points(stations, m=m, name="stations", tooltip="station")
    html = maps.to_html(m)                                 # a self-contained document

Only plain Leaflet features are offline-safe: ``GeoJson`` layers with tooltips,
``CircleMarker``, ``LayerControl``. folium features that pull their own JavaScript from a CDN
(``folium.Choropleth`` legends via d3, HTML popups via jQuery, awesome-markers icons, most
plugins) raise :class:`OfflineMapError` when the map is rendered.
"""

from __future__ import annotations

import base64
import functools
import html as html_lib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, JavascriptLink, MacroElement
from folium.template import Template

__all__ = [
    "DEFAULT_CENTER",
    "OfflineMapError",
    "add_points",
    "base_map",
    "choropleth",
    "external_resources",
    "link_state",
    "linked_choropleth",
    "to_html",
    "to_iframe",
]

DEFAULT_CENTER = (43.06, 141.35)
"""Sapporo's city centre (latitude, longitude), a little south of Sapporo Station."""

LEAFLET_DIR = Path(__file__).parent / "static" / "leaflet"

#: A sequential palette (light to dark blue-green), colour-blind safe (ColorBrewer GnBu 7).
DEFAULT_COLORS = ("#f0f9e8", "#ccebc5", "#a8ddb5", "#7bccc4", "#4eb3d3", "#2b8cbe", "#08589e")

_WARD_STYLE = {"color": "#555555", "weight": 1.2, "fillColor": "#f2efe9", "fillOpacity": 0.6}
_NO_DATA_COLOR = "#d9d9d9"
_URL_ATTRS = re.compile(
    r"""(?:<script[^>]*\ssrc|<link[^>]*\shref|<img[^>]*\ssrc|<iframe[^>]*\ssrc)\s*=\s*["']?"""
    r"""((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)
_CSS_URLS = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])((?:https?:)?//[^"')\s]+)""", re.I)


class OfflineMapError(RuntimeError):
    """A map element needs a resource from the internet, which this workbench never loads."""


# --------------------------------------------------------------------------- vendored Leaflet


@functools.cache
def _leaflet_js() -> str:
    return (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")


def _data_uri(name: str) -> str:
    raw = (LEAFLET_DIR / "images" / name).read_bytes()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


@functools.cache
def _leaflet_css() -> str:
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    return re.sub(r"url\(images/([\w.-]+\.png)\)", lambda m: f"url({_data_uri(m[1])})", css)


@functools.cache
def _icon_setup_js() -> str:
    # Leaflet guesses its default marker icon path from the CSS; with inlined images it
    # cannot, so point the default icon at data: URIs.
    return (
        "L.Icon.Default.imagePath = '';"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{_data_uri('marker-icon.png')}',"
        f"iconRetinaUrl: '{_data_uri('marker-icon-2x.png')}',"
        f"shadowUrl: '{_data_uri('marker-shadow.png')}'"
        "});"
    )


def _inline_leaflet_header() -> str:
    return (
        f"<style>{_leaflet_css()}</style>\n"
        "<style>html, body {width: 100%; height: 100%; margin: 0; padding: 0;}"
        " .workbench-legend {background: rgba(255,255,255,0.9); padding: 6px 8px;"
        " font: 12px/1.4 sans-serif; border-radius: 4px; box-shadow: 0 0 4px rgba(0,0,0,.3);}"
        " .workbench-legend i {display: inline-block; width: 14px; height: 12px;"
        " margin-right: 6px; vertical-align: middle; border: 1px solid #999;}</style>\n"
        f"<script>{_leaflet_js()}</script>\n"
        f"<script>{_icon_setup_js()}</script>"
    )


class _OfflineMap(folium.Map):
    """A :class:`folium.Map` that inlines the vendored Leaflet and refuses CDN resources."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # Instance attributes: folium mutates the class-level lists in add_js_link.
        self.default_js = []
        self.default_css = []

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        figure.header.add_child(Element(_inline_leaflet_header()), name="workbench_leaflet")
        super().render(**kwargs)
        external = [
            (name, child.url)
            for name, child in figure.header._children.items()
            if isinstance(child, (JavascriptLink, CssLink))
        ]
        if external:
            names = ", ".join(f"{name} ({url})" for name, url in external)
            raise OfflineMapError(
                f"this map uses folium features that load code from the internet: {names}. "
                "Offline maps support GeoJson layers, tooltips, CircleMarker and LayerControl; "
                "use workbench.maps.choropleth / add_points instead of folium.Choropleth, "
                "HTML popups or plugins."
            )


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str, *, prefix: str = "Leaflet") -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text
        self.prefix = prefix


class _Legend(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'workbench-legend');
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.position = position


class _LinkedChoropleth(MacroElement):
    """A GeoJSON layer whose colours switch between precomputed states without re-rendering.

    The page (a same-origin ``srcdoc`` iframe in a notebook or dashboard) watches its parent
    document for ``<span class="workbench-map-link" data-link=LINK data-state=STATE>`` and
    restyles the layer and its legend when the state changes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var data = {{ this.data|tojson }};
            var states = {{ this.states|tojson }};
            var palettes = {{ this.palettes|tojson }};
            var labels = {{ this.labels|tojson }};
            var legends = {{ this.legends|tojson }};
            var link = {{ this.link|tojson }};
            var tipFields = {{ this.tooltip|tojson }};
            var noData = {{ this.no_data|tojson }};
            var current = {{ this.initial|tojson }};
            function classOf(feature) {
                var c = feature.properties.__classes.charAt(states.indexOf(current));
                return c === "-" ? -1 : parseInt(c, 10);
            }
            function style(feature) {
                var k = classOf(feature);
                return {fillColor: k < 0 ? noData : palettes[current][k], color: "#444444",
                        weight: {{ this.line_weight|tojson }},
                        fillOpacity: {{ this.fill_opacity|tojson }}};
            }
            function tip(feature) {
                var k = classOf(feature), rows = [];
                tipFields.forEach(function (f) {
                    var v = feature.properties[f];
                    rows.push(L.Util.template("<b>{f}</b>: {v}", {f: f, v: v === null ? "-" : v}));
                });
                rows.push(k < 0 ? "no data" : labels[current][k]);
                return rows.join("<br>");
            }
            var layer = L.geoJSON(data, {
                style: style,
                onEachFeature: function (feature, l) {
                    l.bindTooltip(function () { return tip(feature); }, {sticky: true});
                }
            }).addTo(map);
            var legend = L.control({position: "bottomright"});
            var legendDiv = null;
            legend.onAdd = function () {
                legendDiv = L.DomUtil.create("div", "workbench-legend");
                legendDiv.innerHTML = legends[current];
                return legendDiv;
            };
            legend.addTo(map);
            function apply(state) {
                if (!state || state === current || states.indexOf(state) < 0) { return; }
                current = state;
                layer.setStyle(style);
                legendDiv.innerHTML = legends[current];
                document.body.setAttribute("data-map-state", current);
            }
            document.body.setAttribute("data-map-state", current);
            window.workbenchSetMapState = apply;
            function read() {
                try {
                    var el = window.parent.document.querySelector(
                        '.workbench-map-link[data-link="' + link + '"]');
                    if (el) { apply(el.getAttribute("data-state")); }
                } catch (e) { /* not embedded, or a cross-origin parent */ }
            }
            try {
                if (window.parent !== window) {
                    new MutationObserver(read).observe(window.parent.document.body, {
                        subtree: true, childList: true, attributes: true,
                        attributeFilter: ["data-state"]});
                }
            } catch (e) { /* cross-origin parent: the state stays as rendered */ }
            read();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, **fields) -> None:
        super().__init__()
        self._name = "LinkedChoropleth"
        for key, value in fields.items():
            setattr(self, key, value)


# --------------------------------------------------------------------------- geometry helpers


def _to_wgs84(gdf: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise ValueError(
            f"{what} has no CRS; set it first, e.g. gdf.set_crs('EPSG:4326') for lon/lat."
        )
    return gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf


def _geojson_data(
    gdf: gpd.GeoDataFrame,
    columns: Sequence[str],
    *,
    simplify_deg: float | None,
    decimals: int = 5,
) -> dict:
    """A compact GeoJSON dict: the given columns only, JSON-safe values, rounded coords."""
    geoms = gdf.geometry
    if simplify_deg:
        geoms = geoms.simplify(simplify_deg, preserve_topology=True)
    # np.round keeps the shortest decimal repr in JSON (snapping to a grid does not)
    geoms = gpd.GeoSeries(
        shapely.transform(np.asarray(geoms.values), lambda xy: np.round(xy, decimals)),
        index=gdf.index,
        crs=gdf.crs,
    )
    props = pd.DataFrame(index=gdf.index)
    for column in columns:
        props[column] = _json_safe(gdf[column])
    frame = gpd.GeoDataFrame(props, geometry=geoms, crs=gdf.crs)
    keep = np.array([g is not None and not g.is_empty for g in frame.geometry], dtype=bool)
    frame = frame[keep]
    return {"type": "FeatureCollection", "features": list(frame.iterfeatures(show_bbox=False))}


def _json_safe(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), None)
    if pd.api.types.is_float_dtype(values):
        return (
            values.astype(object)
            .where(values.notna(), None)
            .map(lambda v: None if v is None else float(v))
        )
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return (
            values.astype(object)
            .where(values.notna(), None)
            .map(lambda v: None if v is None else v.item() if hasattr(v, "item") else v)
        )
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else str(v))
    )


def _tooltip(columns: Sequence[str], aliases: Sequence[str] | None) -> folium.GeoJsonTooltip | None:
    if not columns:
        return None
    return folium.GeoJsonTooltip(
        fields=list(columns), aliases=list(aliases or columns), sticky=True, localize=True
    )


# --------------------------------------------------------------------------- public API


def base_map(
    *,
    wards: gpd.GeoDataFrame | None = None,
    center: tuple[float, float] = DEFAULT_CENTER,
    zoom_start: int = 11,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    attribution: str | None = None,
    ward_label: str | None = None,
    height: str | int = "100%",
    fit_wards: bool = True,
) -> folium.Map:
    """Return a folium map of Sapporo that needs no internet.

    Parameters
    ----------
    wards : GeoDataFrame, optional
        Ward polygons drawn as the base layer (grey fill, dark outlines). Any CRS; they are
        shown in WGS84. Without them the map is blank until you add layers or tiles.
    center, zoom_start
        Initial view (latitude, longitude) and zoom when not fitted to the wards.
    tiles : str, optional
        A tile URL template such as ``"http://tiles.local/{z}/{x}/{y}.png"``. Defaults to the
        ``WORKBENCH_TILES`` environment variable; no tiles when neither is set.
    tiles_attribution : str, optional
        Attribution for the tiles (default ``WORKBENCH_TILES_ATTRIBUTION`` or the URL's host).
    attribution : str, optional
        Data attribution shown in the map's attribution control (bottom right).
    ward_label : str, optional
        Column of ``wards`` shown as a tooltip (for example ``"ward_name_en"``).
    height : str or int
        Height of the map element ("100%" fills its frame; an int is pixels).
    fit_wards : bool
        Fit the initial view to the wards' bounds.

    Returns
    -------
    folium.Map
        Renders to HTML that inlines Leaflet 1.9.4; see :func:`to_html`.
    """
    m = _OfflineMap(location=list(center), zoom_start=zoom_start, tiles=None, height=height)
    tiles = tiles or os.environ.get("WORKBENCH_TILES") or None
    if tiles:
        tiles_attribution = (
            tiles_attribution
            or os.environ.get("WORKBENCH_TILES_ATTRIBUTION")
            or re.sub(r"^\w+://([^/]+).*$", r"\1", tiles)
        )
        folium.TileLayer(tiles=tiles, attr=tiles_attribution, name="tiles").add_to(m)
    if wards is not None:
        wards = _to_wgs84(wards, what="wards")
        columns = [ward_label] if ward_label else []
        missing = [c for c in columns if c not in wards.columns]
        if missing:
            raise KeyError(
                f"ward_label column {missing[0]!r} is not in wards: {list(wards.columns)}"
            )
        folium.GeoJson(
            _geojson_data(wards, columns, simplify_deg=0.0001),
            name="wards",
            style_function=lambda _feature: dict(_WARD_STYLE),
            tooltip=_tooltip(columns, None),
        ).add_to(m)
        if fit_wards and len(wards):
            minx, miny, maxx, maxy = wards.total_bounds
            m.fit_bounds([[miny, minx], [maxy, maxx]])
    if attribution:
        _Attribution(attribution).add_to(m)
    return m


def choropleth(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    m: folium.Map | None = None,
    name: str | None = None,
    bins: int | Sequence[float] = 5,
    colors: Sequence[str] = DEFAULT_COLORS,
    legend_name: str | None = None,
    tooltip: Sequence[str] | None = None,
    tooltip_aliases: Sequence[str] | None = None,
    fill_opacity: float = 0.75,
    line_weight: float = 0.3,
    simplify_deg: float | None = 0.00005,
    value_format: str = "{:,.0f}",
) -> folium.Map:
    """Colour polygons by a numeric column and add a legend; returns the map.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons with the value column (any CRS).
    column : str
        Numeric column to colour by; missing values are drawn grey ("no data").
    m : folium.Map, optional
        Map to draw on; a new :func:`base_map` without wards by default.
    name : str, optional
        Layer name in a layer control (default: ``column``).
    bins : int or sequence of float
        Number of quantile classes, or explicit class edges (ascending).
    colors : sequence of str
        Palette, light to dark; resampled to the number of classes.
    legend_name : str, optional
        Legend title (default: ``column``).
    tooltip, tooltip_aliases : sequence of str, optional
        Columns shown on hover (default: ``[column]``) and their labels.
    simplify_deg : float, optional
        Simplification tolerance in degrees for a lighter page (about 5 m by default).
    value_format : str
        Format of the legend's class edges.

    Returns
    -------
    folium.Map
    """
    gdf = _to_wgs84(gdf, what="gdf")
    if column not in gdf.columns:
        raise KeyError(f"column {column!r} is not in the frame: {list(gdf.columns)}")
    values = pd.to_numeric(gdf[column], errors="coerce").astype(float)
    edges = _class_edges(values, bins)
    palette = _resample(colors, len(edges) - 1)
    classes = pd.cut(values, edges, include_lowest=True, labels=False, duplicates="drop")
    fills = [palette[int(c)] if pd.notna(c) else _NO_DATA_COLOR for c in classes]
    fill_column = "__fill"
    frame = gdf.assign(**{fill_column: fills})
    tooltip = list(tooltip) if tooltip is not None else [column]
    m = m if m is not None else base_map()
    folium.GeoJson(
        _geojson_data(frame, [*dict.fromkeys([*tooltip, fill_column])], simplify_deg=simplify_deg),
        name=name or column,
        style_function=lambda feature: {
            "fillColor": feature["properties"][fill_column],
            "color": "#444444",
            "weight": line_weight,
            "fillOpacity": fill_opacity,
        },
        tooltip=_tooltip(tooltip, tooltip_aliases),
    ).add_to(m)
    _Legend(_legend_html(legend_name or column, edges, palette, value_format, values)).add_to(m)
    return m


def add_points(
    points: gpd.GeoDataFrame | pd.DataFrame,
    *,
    m: folium.Map,
    name: str = "points",
    color: str = "#d62728",
    radius: float = 4,
    tooltip: str | Sequence[str] | None = None,
    lat: str = "lat",
    lon: str = "lon",
) -> folium.Map:
    """Draw points as circle markers (no icon images needed); returns the map.

    Parameters
    ----------
    points : GeoDataFrame or DataFrame
        Point geometries, or a plain frame with ``lat`` / ``lon`` columns.
    m : folium.Map
        Map to draw on.
    name : str
        Layer name.
    color : str
        Stroke and fill colour.
    radius : float
        Marker radius in pixels.
    tooltip : str or sequence of str, optional
        Column(s) shown on hover.
    lat, lon : str
        Column names used when ``points`` is not a GeoDataFrame.
    """
    if not isinstance(points, gpd.GeoDataFrame):
        if lat not in points.columns or lon not in points.columns:
            raise KeyError(
                f"points needs a geometry or {lat!r}/{lon!r} columns; it has {list(points.columns)}"
            )
        points = gpd.GeoDataFrame(
            points, geometry=gpd.points_from_xy(points[lon], points[lat]), crs="EPSG:4326"
        )
    points = _to_wgs84(points, what="points")
    if len(points) and not (points.geom_type == "Point").all():
        points = points.assign(geometry=points.geometry.representative_point())
    columns = [tooltip] if isinstance(tooltip, str) else list(tooltip or [])
    if len(points) == 0:
        return m  # nothing to draw (folium cannot build a tooltip for an empty layer)
    folium.GeoJson(
        _geojson_data(points, columns, simplify_deg=None),
        name=name,
        marker=folium.CircleMarker(
            radius=radius, color=color, fill=True, fill_color=color, fill_opacity=0.8, weight=1
        ),
        tooltip=_tooltip(columns, None),
    ).add_to(m)
    return m


def linked_choropleth(
    gdf: gpd.GeoDataFrame,
    values: pd.DataFrame,
    *,
    m: folium.Map,
    link: str,
    initial: str | None = None,
    bins: int | Sequence[float] | Mapping[str, Sequence[float]] = 5,
    colors: Sequence[str] = DEFAULT_COLORS,
    legend_titles: Mapping[str, str] | None = None,
    tooltip: Sequence[str] = (),
    value_format: str = "{:,.0f}",
    class_labels: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    fill_opacity: float = 0.75,
    line_weight: float = 0.3,
    simplify_deg: float | None = 0.00005,
) -> folium.Map:
    """Colour polygons by one of several precomputed columns, switchable without re-rendering.

    Every column of ``values`` is a *state* (for example ``"subway|15"``). The map carries
    each polygon's class in every state; the page switches state when an element
    ``link_state(link, state)`` (put it in an ``ipywidgets.HTML``) changes in the parent
    document, so a dashboard control updates a map of thousands of polygons in milliseconds
    instead of resending it. In a standalone page call ``window.workbenchSetMapState(state)``.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons (any CRS).
    values : DataFrame
        Indexed like ``gdf``; one numeric column per state (at most 10 classes per state).
    m : folium.Map
        Map to draw on (from :func:`base_map`).
    link : str
        Name shared with :func:`link_state`.
    initial : str, optional
        State shown first (default: the first column).
    bins, colors, value_format
        Classes per state (quantiles, or explicit edges shared by every state, or a mapping
        state -> edges), palette and legend format.
    class_labels : sequence of str or mapping, optional
        Legend labels of the classes (one per class; or a mapping state -> labels), e.g.
        ``["none", "1", "2", "3-4", "5 or more"]``.
    legend_titles : mapping, optional
        Legend title per state (default: the state key).
    tooltip : sequence of str
        Columns of ``gdf`` shown on hover, with the polygon's class in the current state.

    Returns
    -------
    folium.Map
    """
    gdf = _to_wgs84(gdf, what="gdf")
    if not values.index.equals(gdf.index):
        raise ValueError("values must be indexed like gdf (one row per polygon, same order)")
    states = [str(c) for c in values.columns]
    if not states:
        raise ValueError("values needs at least one column (one per state)")
    initial = states[0] if initial is None else str(initial)
    if initial not in states:
        raise KeyError(f"initial state {initial!r} is not a column of values: {states}")
    codes = np.full((len(gdf), len(states)), "-", dtype="<U1")
    palettes, labels, legends = {}, {}, {}
    titles = dict(legend_titles or {})
    for j, state in enumerate(states):
        column = pd.to_numeric(values.iloc[:, j], errors="coerce").astype(float)
        state_bins = bins.get(state, 5) if isinstance(bins, Mapping) else bins
        state_labels = (
            class_labels.get(state) if isinstance(class_labels, Mapping) else class_labels
        )
        edges = _class_edges(column, state_bins)
        palette = _resample(colors, len(edges) - 1)
        if len(palette) > 10:
            raise ValueError(f"state {state!r} has {len(palette)} classes; at most 10")
        classes = pd.cut(column, edges, include_lowest=True, labels=False, duplicates="drop")
        ok = classes.notna().to_numpy()
        codes[ok, j] = classes[ok].astype(int).astype(str).to_numpy()
        palettes[state] = palette
        labels[state] = (
            list(state_labels)
            if state_labels is not None
            else [
                f"{value_format.format(edges[i])} – {value_format.format(edges[i + 1])}"
                for i in range(len(palette))
            ]
        )
        if len(labels[state]) != len(palette):
            raise ValueError(
                f"class_labels has {len(labels[state])} labels for {len(palette)} classes"
            )
        legends[state] = _legend_html(
            titles.get(state, state), edges, palette, value_format, column, labels[state]
        )
    frame = gdf[[*tooltip]].assign(__classes=["".join(row) for row in codes])
    frame = frame.set_geometry(gdf.geometry)
    _LinkedChoropleth(
        data=_geojson_data(frame, [*tooltip, "__classes"], simplify_deg=simplify_deg),
        states=states,
        palettes=palettes,
        labels=labels,
        legends=legends,
        link=link,
        initial=initial,
        tooltip=list(tooltip),
        no_data=_NO_DATA_COLOR,
        fill_opacity=fill_opacity,
        line_weight=line_weight,
    ).add_to(m)
    return m


def link_state(link: str, state: str) -> str:
    """HTML that tells the :func:`linked_choropleth` named ``link`` to show ``state``.

    Put it in an ``ipywidgets.HTML`` next to the map and update the widget's value.
    """
    return (
        f'<span class="workbench-map-link" data-link="{html_lib.escape(link)}" '
        f'data-state="{html_lib.escape(state)}" hidden></span>'
    )


def to_html(m: folium.Map) -> str:
    """Return the map as one self-contained HTML document (Leaflet inlined, no external URLs)."""
    return m.get_root().render()


def to_iframe(m: folium.Map, *, height: int = 480, title: str = "map") -> str:
    """Return an ``<iframe srcdoc=...>`` snippet for an ``ipywidgets.HTML`` or a notebook cell.

    Unlike folium's own notebook display, this carries no "trust the notebook" banner and
    has a fixed pixel height, which suits dashboards.
    """
    # single-quoted attribute: only & and ' need escaping (GeoJSON is full of double quotes)
    doc = to_html(m).replace("&", "&amp;").replace("'", "&#39;")
    return (
        f'<iframe class="workbench-map" title="{html_lib.escape(title)}" srcdoc=\'{doc}\' '
        f'style="width:100%;height:{int(height)}px;border:0;" loading="eager"></iframe>'
    )


def external_resources(html: str) -> list[str]:
    """Return the URLs of scripts, stylesheets, images or frames an HTML page loads remotely.

    Links the user may click (``<a href>``) and XML namespaces are not resources and are not
    reported. An offline page returns ``[]``.
    """
    return sorted(set(_URL_ATTRS.findall(html)) | set(_CSS_URLS.findall(html)))


# --------------------------------------------------------------------------- classification


def _class_edges(values: pd.Series, bins: int | Sequence[float]) -> list[float]:
    finite = values[np.isfinite(values)]
    if not isinstance(bins, int):
        edges = [float(b) for b in bins]
        if len(edges) < 2 or any(b >= a for a, b in zip(edges[1:], edges, strict=False)):
            raise ValueError(f"bins must be at least two ascending edges, got {edges}")
        return edges
    if bins < 1:
        raise ValueError(f"bins must be a positive number of classes, got {bins}")
    if finite.empty:
        return [0.0, 1.0]
    edges = sorted(set(np.quantile(finite, np.linspace(0, 1, bins + 1)).round(10).tolist()))
    if len(edges) == 1:
        edges = [edges[0], edges[0] + 1.0]
    return edges


def _resample(colors: Sequence[str], n: int) -> list[str]:
    if n <= 0:
        return []
    idx = np.linspace(0, len(colors) - 1, n).round().astype(int)
    return [colors[i] for i in idx]


def _legend_html(
    title: str,
    edges: list[float],
    palette: list[str],
    fmt: str,
    values: pd.Series,
    labels: Sequence[str] | None = None,
) -> str:
    rows = [f"<b>{html_lib.escape(title)}</b>"]
    for i, color in enumerate(palette):
        text = (
            html_lib.escape(labels[i])
            if labels is not None
            else f"{fmt.format(edges[i])} – {fmt.format(edges[i + 1])}"
        )
        rows.append(f'<i style="background:{color}"></i>{text}')
    if values.isna().any():
        rows.append(f'<i style="background:{_NO_DATA_COLOR}"></i>no data / suppressed')
    return "<br>".join(rows)
