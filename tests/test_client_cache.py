"""The on-disk cache: a rerun with the server stopped returns an equal frame."""

from __future__ import annotations

import pandas as pd
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from servers import ServerProcess
from test_client_query import sample_frame

import workbench.client as wbc


def test_cache_hit_with_the_server_stopped_gives_an_equal_frame(tmp_path):
    cache_dir = tmp_path / "cache"
    with ServerProcess(["broker", "--db", str(tmp_path / "b.db")]) as server:
        ex = wbc.connect(server.url, service="cached", cache=cache_dir, progress=False)
        ex.publish(sample_frame(1500), type="Stop", id_column="id")
        ex.publish(
            pd.DataFrame({"id": ["w1", "w1"], "steps": [10, 20], "dateObserved": pd.to_datetime(
                ["2024-01-01T00:00Z", "2024-01-02T00:00Z"], utc=True)}).iloc[[0]],
            type="Walker",
        )  # fmt: skip
        gdf = ex.entities(type="Stop").to_geopandas()
        df = ex.entities(type="Stop", q="riders<500").to_pandas()
        hist = ex.history(entity_id="w1", attr="steps")
        url = server.url
    # the server is gone: the same queries are answered from the cache, attrs included
    offline = wbc.connect(url, service="cached", cache=cache_dir, progress=False, max_retries=1)
    gdf2 = offline.entities(type="Stop").to_geopandas()
    assert_geodataframe_equal(gdf2, gdf)
    assert gdf2.attrs == gdf.attrs and gdf2.attrs["entity_count"] == 1500
    df2 = offline.entities(type="Stop", q="riders<500").to_pandas()
    assert_frame_equal(df2, df)
    assert df2.attrs == df.attrs
    assert_frame_equal(offline.history(entity_id="w1", attr="steps"), hist)
    # a different query is a miss, and says the server is unreachable
    try:
        offline.entities(type="Stop", q="riders<10").to_pandas()
    except wbc.WorkbenchConnectionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected a connection error for an uncached query")
    assert offline.clear_cache() == 3


def test_refresh_bypasses_the_cache(broker, tmp_path):
    ex = wbc.connect(broker.url, service="refresh", cache=tmp_path, progress=False)
    ex.publish(pd.DataFrame({"id": ["a"], "n": [1]}), type="T")
    assert ex.entities(type="T").to_pandas()["n"].tolist() == [1]
    ex.publish(pd.DataFrame({"id": ["a"], "n": [2]}), type="T")
    assert ex.entities(type="T").to_pandas()["n"].tolist() == [1]
    assert ex.entities(type="T").to_pandas(refresh=True)["n"].tolist() == [2]
