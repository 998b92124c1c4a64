"""The frame contract of bundles read from disk: repeated text columns as sorted categoricals."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.bundle import as_categories, read_bundle, write_bundle
from app.pipeline import diagnose
from app.sources.bundle_source import BundleSource
from tests.synthetic_bundle import make_bundle


@pytest.fixture()
def bundle(tmp_path):
    return make_bundle(tmp_path / "b")


def test_text_columns_are_categoricals_with_sorted_categories(bundle):
    data = read_bundle(bundle)
    for frame, columns in ((data.metrics, ["signal", "labels", "query"]), (data.logs, ["labels"])):
        for column in columns:
            dtype = frame[column].dtype
            assert isinstance(dtype, pd.CategoricalDtype), (column, dtype)
            assert list(dtype.categories) == sorted(dtype.categories)
    assert not isinstance(data.logs["line"].dtype, pd.CategoricalDtype)  # lines rarely repeat
    for frame in (data.metrics, data.logs):  # brokers stay text: filling a missing one must work
        assert pd.api.types.is_string_dtype(frame["broker"].dtype)
        assert not isinstance(frame["broker"].dtype, pd.CategoricalDtype)
        assert frame["broker"].fillna("unknown").notna().all()
    # Compared, filtered and grouped as strings.
    one = data.metrics[data.metrics["broker"] == "1"]
    assert len(one) and set(one["broker"].astype(str)) == {"1"}
    groups = [key for key, _ in data.metrics.groupby(["signal", "broker"], sort=True)]
    assert groups == sorted(groups)


def test_written_files_keep_plain_string_columns(bundle, tmp_path):
    data = read_bundle(bundle)
    out = write_bundle(tmp_path / "copy", data.manifest, data.metrics, data.logs, data.ground_truth)
    for name in ("metrics.parquet", "logs.parquet"):
        schema = pq.read_schema(out / name)
        for field in schema:
            assert not pa.types.is_dictionary(field.type), (name, field)
    again = read_bundle(out)
    pd.testing.assert_frame_equal(again.metrics, data.metrics.reset_index(drop=True), check_like=True)


def test_new_label_text_is_re_encoded_with_as_categories(bundle):
    metrics = read_bundle(bundle).metrics
    text = metrics.assign(labels=metrics["labels"].astype(str))
    text.loc[text["broker"] == "3", "labels"] = json.dumps({"broker": "3", "instance": "new:7071"})
    encoded = as_categories(text)
    assert isinstance(encoded["labels"].dtype, pd.CategoricalDtype)
    assert list(encoded["labels"].cat.categories) == sorted(encoded["labels"].cat.categories)
    assert (encoded["labels"].astype(str) == text["labels"]).all()


def test_same_incident_from_categorical_and_string_frames(bundle):
    source = BundleSource(bundle)
    from_categories = diagnose(source).incident
    plain = {c: "string" for c in ("signal", "broker", "labels", "query")}
    source.bundle = dataclasses.replace(
        source.bundle,
        metrics=source.bundle.metrics.astype(plain),
        logs=source.bundle.logs.astype({"broker": "string", "labels": "string"}),
    )
    assert diagnose(source).incident == from_categories


def test_a_bundle_missing_a_column_says_which(bundle):
    frame = pd.read_parquet(bundle / "metrics.parquet").drop(columns=["query"])
    frame.to_parquet(bundle / "metrics.parquet")
    data = read_bundle(bundle)
    assert "missing columns ['query']" in data.problems["metrics"]
    assert data.metrics.empty and not data.logs.empty  # the other part is still read
