"""Sapporo data products: real open data loaders, seeded synthetic generators, the catalog.

Open data (from ``WORKBENCH_SAMPLE_DATA``, default ``../shared/data``), each frame carrying
its licence and attribution in ``attrs``:

- :func:`load_wards`, :func:`load_small_areas`, :func:`load_ward_population`,
  :func:`load_small_area_population`, :func:`load_small_area_households`,
  :func:`load_stations`, :func:`load_subway_lines`, :func:`load_roads`,
  :func:`load_facilities`.

SYNTHETIC data (seeded, parameterised, returning frames and the true effects):

- :func:`generate_ridership`, :func:`generate_pedestrian_counts` (and
  :func:`daily_pedestrian_counts`, its open daily aggregate),
  :func:`generate_health_points` and :func:`aggregate_health_points`.

:mod:`workbench.datasets.smart_data_models` turns frames into NGSI v2 entities and
:mod:`workbench.datasets.catalog` describes the products that ``workbench seed`` publishes.
"""

from workbench.datasets.facilities import load_facilities
from workbench.datasets.health_points import aggregate_health_points, generate_health_points
from workbench.datasets.pedestrians import daily_pedestrian_counts, generate_pedestrian_counts
from workbench.datasets.population import (
    load_small_area_households,
    load_small_area_population,
    load_ward_population,
)
from workbench.datasets.ridership import generate_ridership
from workbench.datasets.roads import load_roads
from workbench.datasets.small_areas import load_small_areas
from workbench.datasets.transit import load_stations, load_subway_lines
from workbench.datasets.wards import load_wards

__all__ = [
    "aggregate_health_points",
    "daily_pedestrian_counts",
    "generate_health_points",
    "generate_pedestrian_counts",
    "generate_ridership",
    "load_facilities",
    "load_roads",
    "load_small_area_households",
    "load_small_area_population",
    "load_small_areas",
    "load_stations",
    "load_subway_lines",
    "load_ward_population",
    "load_wards",
]
