# %% [markdown]
# # Policy effects: city-centre foot traffic and subway ridership
#
# Did a policy change how many people come to the city centre? Pick an event and a method:
# the page estimates the event's effect on **foot traffic** (daily pedestrians at eight
# Chi-Ka-Ho-style sensors) and on **subway ridership** (daily boardings at the city-centre
# stations), each with its 95% confidence interval next to **the true effect**, which is
# known because **the data are synthetic** (generated with dated events of known size, winter
# seasonality and noise). Both series are open products: the pedestrian figures are the daily
# totals that the foot-traffic company publishes as open data (its hourly counts are sold).

# %%
import functools
import html

import ipywidgets as widgets
from IPython.display import HTML, display

from workbench import maps
from workbench.client import NotFoundError, PermissionDeniedError
from workbench.dashboards import (
    footer_html,
    load_wards,
    notice_html,
    policy,
    product_attributions,
    public_exchange,
)

exchange = public_exchange()
datasets = {"subway": policy.load_ridership(exchange)}
products = ["city-centre-pedestrians-daily", "subway-ridership", "sapporo-wards"]
try:
    datasets["pedestrians"] = policy.load_pedestrians(exchange)
    access_note = ""
except (PermissionDeniedError, NotFoundError):
    products.remove("city-centre-pedestrians-daily")
    access_note = notice_html(
        "This exchange does not offer the daily pedestrian totals to the public credential; "
        "this page shows subway ridership only.", kind="warning")
wards = load_wards(exchange)
attributions = product_attributions(exchange, products)
DEFAULT_EVENT = "ekimae_pedestrian_space"
DEFAULT_DAYS = 120
# every estimate is computed while the page is prepared (preheated kernel), so that a
# control only draws a chart
for _data in datasets.values():
    for _event in policy.EVENTS:
        for _group in [policy.CENTRE, *_data.centre]:
            for _method in policy.METHODS:
                policy.estimate_effect(_data, _event, _group, _method)

# %%
def group_options(data):
    names = dict(zip(data.units["code"], data.units["name"], strict=True))
    label = ("City-centre stations" if data.kind == "ridership" else "All sensors")
    return [(f"{label} ({len(data.centre)}, total)", policy.CENTRE),
            *[(names.get(code, code), code) for code in data.centre]]


def unit_name(data, group_key):
    """What a chart is about, by name (the dropdown's label), never the internal code."""
    return next(k for k, v in group_options(data) if v == group_key)


def chart_title(source_key, group_key, method_key):
    data = datasets[source_key]
    kind = "Subway boardings" if data.kind == "ridership" else "Pedestrians"
    view = policy.estimate_effect(data, event.value, group_key, method_key)
    method_name = (view.estimate.method.split(":")[0] if view.estimate
                   else policy.METHODS[method_key]).capitalize()
    return f"{kind}, {unit_name(data, group_key)}: {method_name}"


@functools.lru_cache(maxsize=512)
def chart_png(source_key, event_key, group_key, method_key, window):
    data = datasets[source_key]
    view = policy.estimate_effect(data, event_key, group_key, method_key)
    # the chart's own title (the PNG's font has no Japanese) is the HTML caption above it
    return policy.plot_effect(view, days=window, title="", noun=data.noun)


# the charts a visitor sees first after changing the event or the method: drawn in advance
for _key, _data in datasets.items():
    for _event in policy.EVENTS:
        for _method in policy.METHODS:
            chart_png(_key, _event, policy.CENTRE, _method, DEFAULT_DAYS)

# phone width (390 px): controls shrink to the screen instead of running off it
fit = {"width": "100%", "max_width": "620px", "min_width": "0"}
event = widgets.Dropdown(options=[(e.title, k) for k, e in policy.EVENTS.items()],
                         value=DEFAULT_EVENT, description="Event",
                         layout=widgets.Layout(**fit))
method = widgets.ToggleButtons(options=[(v, k) for k, v in policy.METHODS.items()],
                               value="its", description="Method",
                               style={"button_width": "auto"},
                               layout=widgets.Layout(flex_flow="row wrap", **fit))
days = widgets.IntSlider(value=DEFAULT_DAYS, min=30, max=360, step=30,
                         description="Days shown", continuous_update=False,
                         layout=widgets.Layout(**fit))


class Panel:
    """One series (foot traffic or ridership): its unit control, estimate and chart."""

    def __init__(self, key, heading, label):
        self.key, self.data = key, datasets[key]
        self.group = widgets.Dropdown(options=group_options(self.data), description=label,
                                      layout=widgets.Layout(width="100%", max_width="420px",
                                                            min_width="0"))
        self.summary = widgets.HTML()
        self.caption = widgets.HTML()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(width="100%",
                                                                       max_width="100%"))
        self.box = widgets.VBox([widgets.HTML(f"<h3>{heading}</h3>"), self.group,
                                 self.summary, self.caption, self.chart],
                                layout=widgets.Layout(width="100%", min_width="0"))
        self.group.observe(self.update, names="value")

    def update(self, *_):
        view = policy.estimate_effect(self.data, event.value, self.group.value, method.value)
        what = unit_name(self.data, self.group.value)
        self.summary.value = notice_html(policy.summary_html(
            view, what=what, event=policy.EVENTS[event.value]))
        self.caption.value = ('<p class="workbench-chart-title" style="margin:8px 0 0 0;'
                              'font-weight:600">'
                              f"{html.escape(chart_title(self.key, self.group.value, method.value))}"
                              "</p>")
        self.chart.value = chart_png(self.key, event.value, self.group.value, method.value,
                                     days.value)


panels = []
if "pedestrians" in datasets:
    panels.append(Panel("pedestrians", "Foot traffic (daily pedestrians, 8 sensors)",
                        "Sensors"))
panels.append(Panel("subway", "Subway ridership (daily boardings)", "Stations"))

discs, affected = policy.affected_discs(list(datasets.values()))
map_ = maps.base_map(wards=wards, ward_label="label",
                     attribution="stations: MLIT N02; wards: e-Stat; counts: SYNTHETIC")
maps.linked_choropleth(discs, affected, m=map_, link="policy", bins=[-0.5, 0.5, 1.5],
                       class_labels=["not affected", "affected"],
                       colors=("#bdbdbd", "#d62728"), tooltip=["name"], fill_opacity=0.9,
                       line_weight=1,
                       legend_titles={k: "stations and sensors" for k in affected.columns},
                       initial=DEFAULT_EVENT, simplify_deg=None)
map_.fit_bounds([[43.03, 141.30], [43.09, 141.40]])
map_view = widgets.HTML(maps.to_iframe(map_, height=420, title="stations and sensors"),
                        layout=widgets.Layout(flex="1 1 300px", min_width="0"))
map_link = widgets.HTML()


def update_all(*_):
    for panel in panels:
        panel.update()
    map_link.value = maps.link_state("policy", event.value)


for control in (event, method, days):
    control.observe(update_all, names="value")
update_all()
display(widgets.VBox([
    widgets.HTML(access_note), event, method, days, map_link,
    widgets.HBox([widgets.VBox([p.box for p in panels],
                               layout=widgets.Layout(flex="2 1 340px", min_width="0")),
                  map_view],
                 layout=widgets.Layout(flex_flow="row wrap", width="100%", grid_gap="8px")),
], layout=widgets.Layout(width="100%", max_width="100%")))

# %% [markdown]
# **Methods.** The *interrupted time series* fits the daily series (log scale, so effects
# are relative) with a trend, an annual cycle for Sapporo's snow season, day-of-week effects
# and the other events as adjustments, and reads the event's effect as the level change;
# Newey-West standard errors allow for autocorrelation. *Difference-in-differences*
# compares the change in the chosen series with the change in the units the event did not
# touch, so city-wide changes (weather, economy) cancel; it needs such units, and where an
# event touched every sensor or station the page says so and shows the interrupted time
# series. The shaded band is the event; the dashed line is what the model expects without
# it. Map: the stations and sensors each event affected (red).

# %%
display(HTML(footer_html(attributions, synthetic=True)))
