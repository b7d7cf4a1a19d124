"""NGSI attribute types -> pandas dtypes, and dtypes -> NGSI types for publishing."""

import numpy as np
import pandas as pd
import pytest

from workbench.ngsi import dtype_for, series_to_values, values_to_array


def test_number_all_json_integers_becomes_nullable_int64():
    arr = values_to_array([1, None, 3], "Number")
    assert arr.dtype == "Int64"
    assert list(arr.astype(object)) == [1, pd.NA, 3]


def test_number_with_a_decimal_value_becomes_float64():
    arr = values_to_array([1, 2.5, None], "Number")
    assert arr.dtype == np.float64
    assert np.isnan(arr[2])


def test_datetime_becomes_utc_nanoseconds():
    arr = values_to_array(
        ["2024-05-01T09:00:00Z", "2024-05-01T09:00:00.123+09:00", None], "DateTime"
    )
    assert str(arr.dtype) == "datetime64[ns, UTC]"
    assert arr[1] == pd.Timestamp("2024-05-01T00:00:00.123Z")
    assert pd.isna(arr[2])


def test_boolean_and_text_use_nullable_dtypes():
    assert values_to_array([True, None], "Boolean").dtype == "boolean"
    assert values_to_array(["a", None], "Text").dtype == pd.StringDtype()
    assert values_to_array(["urn:x"], "Relationship").dtype == pd.StringDtype()


def test_value_not_matching_its_type_falls_back_to_object_without_loss():
    arr = values_to_array([1, "n/a"], "Number")
    assert arr.dtype == object
    assert list(arr) == [1, "n/a"]


def test_structured_value_is_kept_as_python_objects():
    arr = values_to_array([{"a": 1}, [1, 2]], "StructuredValue")
    assert list(arr) == [{"a": 1}, [1, 2]]


@pytest.mark.parametrize(
    ("ngsi", "dtype"),
    [
        ("Number", "float64"),
        ("Integer", "Int64"),
        ("DateTime", "datetime64[ns, UTC]"),
        ("Boolean", "boolean"),
        ("Text", "string"),
        ("StructuredValue", "object"),
    ],
)
def test_empty_columns_get_the_dtype_of_their_type(ngsi, dtype):
    assert str(pd.Series([], dtype=dtype_for(ngsi)).dtype) == dtype


def test_dtypes_map_back_to_ngsi_types_and_missing_values_are_none():
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan],
            "i": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "s": pd.array(["x", None], dtype="string"),
            "t": pd.to_datetime(["2024-01-01T00:00:00Z", None], utc=True),
            "o": [{"k": 1}, None],
        }
    )
    out = {c: series_to_values(frame[c]) for c in frame}
    assert out["f"] == ("Number", [1.5, None])
    assert out["i"] == ("Number", [1, None])
    assert out["b"] == ("Boolean", [True, None])
    assert out["s"] == ("Text", ["x", None])
    assert out["t"] == ("DateTime", ["2024-01-01T00:00:00.000Z", None])
    assert out["o"] == ("StructuredValue", [{"k": 1}, None])
