"""Parquet ranking data: one row per document.

Columns: ``qid``, ``label``, the features (either one list column ``features`` or one
numeric column per feature, ``f1 ... fF``), and optionally ``docid``. Rows of a query
must be contiguous (or regrouped with ``noncontiguous="group"``), as for SVMlight.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from rankwise.data._io import PathLike
from rankwise.data.ranking_data import (
    LoadReport,
    RankingData,
    describe_label_range,
    invalid_labels,
)
from rankwise.errors import DataFormatError

_FEATURE_COLUMN = re.compile(r"(?:f|feature_?)(\d+)")


def write_parquet(
    data: RankingData,
    path: PathLike,
    *,
    layout: Literal["columns", "list"] = "columns",
    compression: str = "zstd",
) -> None:
    """Write ``data`` as Parquet, one row per document.

    ``layout="columns"`` writes one float32 column per feature (``f1`` ... ``fF``, 1-based
    like SVMlight indices), convenient for dataframe tools; ``layout="list"`` writes a
    single fixed-size list column ``features``, which is faster for wide data.
    """
    if layout not in ("columns", "list"):
        raise ValueError(f"layout must be 'columns' or 'list', got {layout!r}")
    qids = np.repeat(data.qids, data.list_lengths())
    columns: dict[str, Any] = {"qid": pa.array(qids), "label": pa.array(data.labels)}
    features = np.ascontiguousarray(data.features)
    if layout == "list":
        columns["features"] = pa.FixedSizeListArray.from_arrays(
            pa.array(features.reshape(-1)), data.num_features
        )
    else:
        for j in range(data.num_features):
            columns[f"f{j + 1}"] = pa.array(features[:, j])
    if data.docids is not None:
        columns["docid"] = pa.array(data.docids.astype(str))
    if data.comments is not None:
        columns["comment"] = pa.array(data.comments.astype(str))
    pq.write_table(pa.table(columns), path, compression=compression)


def read_parquet(
    path: PathLike,
    *,
    qid_column: str = "qid",
    label_column: str = "label",
    feature_columns: list[str] | None = None,
    docid_column: str | None = "docid",
    min_label: float | None = 0.0,
    max_label: float | None = None,
    nonfinite: Literal["error", "fill"] = "error",
    fill_value: float = 0.0,
    noncontiguous: Literal["error", "group"] = "error",
) -> RankingData:
    """Read Parquet ranking data written by :func:`write_parquet` or by other tools.

    Features are taken from ``feature_columns`` when given, else from a list column
    named ``features``, else from every column named ``f<k>``/``feature<k>``/
    ``feature_<k>`` ordered by ``k``. Missing (null) and non-finite feature values follow
    ``nonfinite`` like the SVMlight reader; null labels or qids are an error.

    Raises:
        DataFormatError: a missing column, a null label/qid, a label out of range, a
            non-finite value under ``nonfinite="error"``, or a non-contiguous query
            under ``noncontiguous="error"``; the message names the column and row.
    """
    table = pq.read_table(path)
    names = table.column_names
    for required in (qid_column, label_column):
        if required not in names:
            raise DataFormatError(f"{path}: no column {required!r} (columns: {names})")
    features = _feature_matrix(table, feature_columns, path)
    report = LoadReport(sources=[str(path)], lines=table.num_rows)
    features = _apply_nonfinite(features, nonfinite, fill_value, report, path)
    labels_col = table.column(label_column)
    if labels_col.null_count:
        raise DataFormatError(f"{path}: column {label_column!r} has {labels_col.null_count} nulls")
    labels = labels_col.to_numpy().astype(np.float32)
    bad = invalid_labels(labels, min_label, max_label)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: row {row}: label {float(labels[row]):g} outside the allowed range "
            f"{describe_label_range(min_label, max_label)}"
        )
    qid_col = table.column(qid_column)
    if qid_col.null_count:
        raise DataFormatError(f"{path}: column {qid_column!r} has {qid_col.null_count} nulls")
    qids = qid_col.to_numpy(zero_copy_only=False)
    if qids.dtype == object:
        qids = qids.astype(np.str_)
    docids = None
    if docid_column is not None and docid_column in names:
        docids = table.column(docid_column).to_numpy(zero_copy_only=False).astype(np.str_)
    comments = None
    if "comment" in names:
        comments = table.column("comment").to_numpy(zero_copy_only=False).astype(np.str_)
    return RankingData.from_documents(
        features,
        labels,
        qids,
        docids=docids,
        comments=comments,
        noncontiguous=noncontiguous,
        report=report,
        source=str(path),
    )


def _feature_matrix(
    table: pa.Table, feature_columns: list[str] | None, path: PathLike
) -> npt.NDArray[np.float32]:
    names = table.column_names
    if feature_columns is None and "features" in names:
        col = table.column("features").combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type)):
            raise DataFormatError(f"{path}: column 'features' is {col.type}, expected a list")
        if col.null_count:
            raise DataFormatError(f"{path}: column 'features' has {col.null_count} null lists")
        if pa.types.is_fixed_size_list(col.type):
            width = col.type.list_size
        else:
            lengths = np.asarray(col.value_lengths())
            if lengths.size and (lengths != lengths[0]).any():
                row = int(np.flatnonzero(lengths != lengths[0])[0])
                raise DataFormatError(
                    f"{path}: row {row} has {lengths[row]} features, row 0 has {lengths[0]}"
                )
            width = int(lengths[0]) if lengths.size else 0
        flat = col.flatten()
        values: npt.NDArray[np.float32] = flat.to_numpy(zero_copy_only=False).astype(np.float32)
        if flat.null_count:
            values[np.asarray(flat.is_null())] = np.nan
        return values.reshape(len(col), width)
    if feature_columns is None:
        numbered = [(int(m.group(1)), c) for c in names if (m := _FEATURE_COLUMN.fullmatch(c))]
        feature_columns = [c for _, c in sorted(numbered)]
        if not feature_columns:
            raise DataFormatError(
                f"{path}: no feature columns found (expected a list column 'features' or "
                f"columns f1..fF); columns: {names}"
            )
    missing = [c for c in feature_columns if c not in names]
    if missing:
        raise DataFormatError(f"{path}: feature columns not found: {missing}")
    out = np.empty((table.num_rows, len(feature_columns)), dtype=np.float32)
    for j, name in enumerate(feature_columns):
        col = table.column(name)
        values = col.to_numpy(zero_copy_only=False)
        if col.null_count:
            values = values.astype(np.float64)
            values[np.asarray(col.is_null())] = np.nan
        out[:, j] = values
    return out


def _apply_nonfinite(
    features: npt.NDArray[np.float32],
    policy: str,
    fill_value: float,
    report: LoadReport,
    path: PathLike,
) -> npt.NDArray[np.float32]:
    bad = ~np.isfinite(features)
    if not bad.any():
        return features
    if policy == "error":
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataFormatError(
            f"{path}: row {row}, feature {col + 1} is {float(features[row, col])} (null or "
            "non-finite); pass nonfinite='fill' and fill_value=... to replace such values"
        )
    report.filled_values["null or non-finite"] = int(bad.sum())
    report.fill_value = fill_value
    features[bad] = fill_value
    return features
