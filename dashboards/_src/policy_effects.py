# %% [markdown]
# # Policy effects: city-centre subway ridership and foot traffic
#
# Did a policy change how many people come to the city centre? Pick an event, a series and
# a method: the page estimates the event's effect with its 95% confidence interval and
# shows it next to **the true effect**, which is known because **the data are synthetic**
# (generated with dated events of known size, winter seasonality and noise). Daily subway
# boardings are an open product; hourly pedestrian counts are a commercial product and
# appear only when the exchange opens them to the public credential.

# %%
import functools

import ipywidgets as widgets
import pandas as pd
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
products = ["subway-ridership", "sapporo-wards"]
try:
    datasets["pedestrians"] = policy.load_pedestrians(exchange)
    products.append("city-centre-pedestrians")
    access_note = ""
except (PermissionDeniedError, NotFoundError):
    access_note = notice_html(
        "Pedestrian counts are a commercial product that the public credential cannot read "
        "(or that this exchange does not offer); this page shows subway ridership only.",
        kind="warning")
wards = load_wards(exchange)
attributions = product_attributions(exchange, products)
DEFAULT_EVENT = "ekimae_pedestrian_space"
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


source = widgets.Dropdown(
    options=[("Subway ridership (daily boardings)", "subway")]
    + ([("Pedestrian counts (daily)", "pedestrians")] if "pedestrians" in datasets else []),
    description="Data", layout=widgets.Layout(width="420px"))
event = widgets.Dropdown(options=[(e.title, k) for k, e in policy.EVENTS.items()],
                         value=DEFAULT_EVENT, description="Event",
                         layout=widgets.Layout(width="620px"))
group = widgets.Dropdown(options=group_options(datasets["subway"]), description="Series",
                         layout=widgets.Layout(width="420px"))
method = widgets.ToggleButtons(options=[(v, k) for k, v in policy.METHODS.items()],
                               value="its", description="Method",
                               style={"button_width": "220px"})
days = widgets.IntSlider(value=120, min=30, max=360, step=30, description="Days shown",
                         continuous_update=False)
summary = widgets.HTML()
chart = widgets.Image(format="png", layout=widgets.Layout(width="62%"))
map_view = widgets.HTML(layout=widgets.Layout(width="38%"))
map_link = widgets.HTML()


@functools.lru_cache(maxsize=4)
def units_map(source_key):
    """Stations (sensors) as small discs, coloured by whether each event affected them;
    built once, switched in place by ``map_link``."""
    data = datasets[source_key]
    codes = list(data.units["code"])
    hit = pd.DataFrame({key: data.units["code"].isin(
        policy.affected(e, codes, data.kind)).astype(float) for key, e in policy.EVENTS.items()},
        index=data.units.index)
    discs = data.units.assign(geometry=data.units.to_crs(6680).buffer(150).to_crs(4326))
    m = maps.base_map(wards=wards, ward_label="label",
                      attribution="stations: MLIT N02; wards: e-Stat; counts: SYNTHETIC")
    maps.linked_choropleth(discs, hit, m=m, link=f"policy-{source_key}",
                           bins=[-0.5, 0.5, 1.5], class_labels=["not affected", "affected"],
                           colors=("#bdbdbd", "#d62728"), tooltip=["name"], fill_opacity=0.9,
                           line_weight=1, legend_titles={k: "stations" for k in hit.columns},
                           initial=DEFAULT_EVENT, simplify_deg=None)
    m.fit_bounds([[43.03, 141.30], [43.09, 141.40]])
    return maps.to_iframe(m, height=360, title="stations and sensors")


@functools.lru_cache(maxsize=256)
def chart_png(source_key, event_key, group_key, method_key, window):
    data = datasets[source_key]
    view = policy.estimate_effect(data, event_key, group_key, method_key)
    what = "City-centre total" if group_key == policy.CENTRE else group_key  # ASCII for the PNG
    return policy.plot_effect(view, days=window, title=f"{what}: {policy.METHODS[method_key]}",
                              noun=data.noun)


def update(*_):
    data = datasets[source.value]
    view = policy.estimate_effect(data, event.value, group.value, method.value)
    what = next(k for k, v in group_options(data) if v == group.value)
    summary.value = notice_html(policy.summary_html(view, what=what,
                                                    event=policy.EVENTS[event.value]))
    chart.value = chart_png(source.value, event.value, group.value, method.value, days.value)
    map_view.value = units_map(source.value)
    map_link.value = maps.link_state(f"policy-{source.value}", event.value)


units_map("subway")


def on_source(change):
    group.options = group_options(datasets[change["new"]])


source.observe(on_source, names="value")
for control in (source, event, group, method, days):
    control.observe(update, names="value")
update()
display(widgets.VBox([
    widgets.HTML(access_note), source, event, group, method, days, summary, map_link,
    widgets.HBox([chart, map_view]),
]))

# %% [markdown]
# **Methods.** The *interrupted time series* fits the daily series (log scale, so effects
# are relative) with a trend, an annual cycle for Sapporo's snow season, day-of-week effects
# and the other events as adjustments, and reads the event's effect as the level change;
# Newey-West standard errors allow for autocorrelation. *Difference-in-differences*
# compares the change in the chosen series with the change in the units the event did not
# touch, so city-wide changes (weather, economy) cancel; it needs such units. The shaded
# band is the event; the dashed line is what the model expects without it.

# %%
display(HTML(footer_html(attributions, synthetic=True)))
