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
from rankwise.errors import CHOOSE, DataFormatError, Placeholder, Remedy, printable

_FEATURE_COLUMN = re.compile(r"(f|feature_?)(\d+)")


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
    pq.write_table(ranking_table(data, layout), path, compression=compression)


def ranking_table(data: RankingData, layout: Literal["columns", "list"] = "columns") -> pa.Table:
    """The Arrow table :func:`write_parquet` writes: ``qid``, ``label``, the features in
    ``layout``, and ``docid``/``comment`` when the data have them."""
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
    return pa.table(columns)


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
    allow_empty: bool = False,
) -> RankingData:
    """Read Parquet ranking data written by :func:`write_parquet` or by other tools.

    Features are taken from ``feature_columns`` when given (in that order), else from a
    list column named ``features``, else from the columns named ``f<k>``, ``feature<k>``
    or ``feature_<k>``: column ``k`` is feature ``k``, so the numbers must run from 1
    without a gap and in one naming style (``f1, f3``, or ``f1`` next to ``feature_1``,
    is an error rather than a silent renumbering). Feature values must be numeric
    (integer, floating point or boolean columns); null and non-finite values follow
    ``nonfinite`` like the SVMlight reader. Labels must be numeric; qids integers or
    strings; docids, when present, must not be null. Rows are counted from 0 in
    messages, as in a dataframe.

    Raises:
        DataFormatError: a file that is not Parquet, a missing column, a column of the
            wrong type (a string feature value or a timestamp label), a null
            label/qid/docid, a label out of range, a non-finite value under
            ``nonfinite="error"``, a non-contiguous query under
            ``noncontiguous="error"``, or no row at all (unless ``allow_empty``); the
            message names the file, the column and the row.
    """
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    names = table.column_names
    for required in (qid_column, label_column):
        if required not in names:
            raise DataFormatError(f"{path}: no column {required!r} (columns: {names})")
    if table.num_rows == 0 and not allow_empty:
        raise DataFormatError(f"{path}: the file has no row").with_remedy(
            Remedy({"allow_empty": True}, "to accept an empty data set")
        )
    features = _feature_matrix(table, feature_columns, path)
    report = LoadReport(sources=[str(path)], lines=table.num_rows)
    features = _apply_nonfinite(features, nonfinite, fill_value, report, path)
    labels = numeric_column(table, label_column, path, "label").astype(np.float32)
    bad = invalid_labels(labels, min_label, max_label)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: row {row}: label {float(labels[row]):g} outside the allowed range "
            f"{describe_label_range(min_label, max_label)}"
        )
    qids = _qids(table, qid_column, path)
    docids = None
    if docid_column is not None and docid_column in names:
        docids = _strings(table, docid_column, path, nulls="error")
    comments = None
    if "comment" in names:
        comments = _strings(table, "comment", path, nulls="empty")
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


def _first_null(col: pa.ChunkedArray) -> int:
    return int(np.flatnonzero(np.asarray(col.is_null()))[0])


def numeric_column(
    table: pa.Table, name: str, path: PathLike, role: str = "score"
) -> npt.NDArray[np.float64]:
    """A numeric column (integer, floating point, boolean) as float64, nulls as NaN;
    a column of another type is an error naming the column, its type and, for text, the
    first row that is not a number."""
    col = table.column(name)
    kind = col.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        if role == "label" and col.null_count:
            raise DataFormatError(
                f"{path}: column {name!r}, row {_first_null(col)}: the label is null "
                f"({col.null_count} null labels)"
            )
        # a copy: Arrow's buffers are read-only and the values may be filled in place
        values: npt.NDArray[np.float64] = np.array(
            col.to_numpy(zero_copy_only=False), dtype=np.float64
        )
        if col.null_count:
            values[np.asarray(col.is_null())] = np.nan
        return values
    where = f"{path}: column {name!r}"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        for row, value in enumerate(col.to_pylist()):
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataFormatError(
                    f"{where}, row {row}: {printable(repr(value))} is not a number; {role} "
                    "columns must have a numeric type (this one holds text)"
                ) from None
        raise DataFormatError(
            f"{where} holds numbers as text; {role} columns must have a numeric type "
            "(cast it to float when writing the file)"
        )
    raise DataFormatError(
        f"{where} has type {kind}; {role} columns must be integer, floating point or boolean"
    )


def _qids(table: pa.Table, name: str, path: PathLike) -> npt.NDArray[Any]:
    col = table.column(name)
    if col.null_count:
        raise DataFormatError(
            f"{path}: column {name!r}, row {_first_null(col)}: the qid is null "
            f"({col.null_count} null qids)"
        )
    kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.asarray(col.to_pylist(), dtype=np.str_)
    if pa.types.is_integer(kind):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_floating(kind):
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        fractional = ~np.isfinite(values) | (values != np.round(values))
        if fractional.any():
            row = int(np.flatnonzero(fractional)[0])
            raise DataFormatError(
                f"{path}: column {name!r}, row {row}: qid {float(values[row])!r} is not an integer"
            )
        return np.asarray(values, dtype=np.int64)
    raise DataFormatError(
        f"{path}: column {name!r} has type {kind}; qids must be integers or strings"
    )


def _strings(
    table: pa.Table, name: str, path: PathLike, *, nulls: Literal["error", "empty"]
) -> npt.NDArray[np.str_]:
    col = table.column(name)
    if col.null_count and nulls == "error":
        raise DataFormatError(
            f"{path}: column {name!r}, row {_first_null(col)}: the value is null "
            f"({col.null_count} nulls); every document needs its {name}"
        )
    values = ["" if v is None else str(v) for v in col.to_pylist()]
    return np.asarray(values, dtype=np.str_)


def _numbered_feature_columns(names: list[str], path: PathLike) -> list[str]:
    """The columns ``f<k>``/``feature<k>``/``feature_<k>`` in feature order, checked to
    be features 1..F exactly once each, in one naming style."""
    numbered: dict[int, list[str]] = {}
    styles: set[str] = set()
    for c in names:
        m = _FEATURE_COLUMN.fullmatch(c)
        if m:
            numbered.setdefault(int(m.group(2)), []).append(c)
            styles.add(m.group(1))
    if not numbered:
        raise DataFormatError(
            f"{path}: no feature columns found (expected a list column 'features' or "
            f"columns f1..fF); columns: {names}"
        ).with_remedy(Remedy({"feature_columns": Placeholder("COLUMNS")}, "to name them"))
    explicit = Remedy(
        {"feature_columns": Placeholder("COLUMNS")}, "to choose the columns and their order"
    )
    twice = {k: cs for k, cs in numbered.items() if len(cs) > 1}
    if twice:
        k, cs = min(twice.items())
        raise DataFormatError(
            f"{path}: feature {k} is given by two columns, {' and '.join(map(repr, cs))}"
        ).with_remedy(explicit)
    if len(styles) > 1:
        raise DataFormatError(
            f"{path}: feature columns mix naming styles "
            f"({', '.join(sorted(s + '<k>' for s in styles))})"
        ).with_remedy(explicit)
    numbers = sorted(numbered)
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        style = styles.pop()
        if numbers[0] < 1:
            why = f"{style}{numbers[0]} is not allowed (features are numbered from 1)"
        else:
            shown = ", ".join(f"{style}{k}" for k in missing[:5])
            why = f"no column {shown}{' ...' if len(missing) > 5 else ''}"
        raise DataFormatError(
            f"{path}: numbered feature columns must be {style}1..{style}F without a gap "
            f"(column {style}K is feature K): {why}"
        ).with_remedy(explicit)
    return [numbered[k][0] for k in numbers]


def _feature_matrix(
    table: pa.Table, feature_columns: list[str] | None, path: PathLike
) -> npt.NDArray[np.float32]:
    names = table.column_names
    if feature_columns is None and "features" in names:
        col = table.column("features").combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type)):
            raise DataFormatError(f"{path}: column 'features' is {col.type}, expected a list")
        value_type = col.type.value_type
        if not (
            pa.types.is_integer(value_type)
            or pa.types.is_floating(value_type)
            or pa.types.is_boolean(value_type)
        ):
            raise DataFormatError(
                f"{path}: column 'features' holds {value_type} values; feature values "
                "must be integer, floating point or boolean"
            )
        if col.null_count:
            row = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise DataFormatError(
                f"{path}: column 'features', row {row}: the list is null "
                f"({col.null_count} null lists)"
            )
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
        feature_columns = _numbered_feature_columns(names, path)
    missing = [c for c in feature_columns if c not in names]
    if missing:
        raise DataFormatError(f"{path}: feature columns not found: {missing}")
    repeated = sorted({c for c in feature_columns if feature_columns.count(c) > 1})
    if repeated:
        raise DataFormatError(f"{path}: feature columns named twice: {repeated}")
    out = np.empty((table.num_rows, len(feature_columns)), dtype=np.float32)
    for j, name in enumerate(feature_columns):
        with np.errstate(over="ignore"):
            out[:, j] = numeric_column(table, name, path, "feature")
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
            f"{path}: row {row}, feature {col + 1} is {float(features[row, col])} (null, "
            "non-finite or beyond float32); non-finite feature values are an error by default"
        ).with_remedy(Remedy({"nonfinite": "fill", "fill_value": CHOOSE}, "to replace them"))
    report.filled_values["null or non-finite"] = int(bad.sum())
    report.fill_value = fill_value
    features[bad] = fill_value
    return features
