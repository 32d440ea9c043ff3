"""The loaders on the real LETOR data in ../shared/data (never committed here).

Counts are those verified in shared/data/MANIFEST.md. These tests fail, not skip,
when the data folder is missing (see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankwise.data import RankingData, load_letor_fold, read_svmlight
from rankwise.errors import ParseError


@pytest.fixture(scope="module")
def mq2008(data_dir: Path) -> RankingData:
    parts = [read_svmlight(data_dir / "letor4-mq2008" / f"S{i}.txt") for i in range(1, 6)]
    return RankingData.concat(parts)


def test_mq2008_counts_match_the_manifest(mq2008: RankingData):
    assert mq2008.num_queries == 784
    assert mq2008.num_documents == 15_211
    assert mq2008.num_features == 46
    values, counts = np.unique(mq2008.labels, return_counts=True)
    assert values.tolist() == [0, 1, 2]
    assert counts.tolist() == [12_279, 2_001, 931]
    assert int((~mq2008.has_relevant()).sum()) == 220
    assert len(set(mq2008.qids.tolist())) == 784
    lengths = mq2008.list_lengths()
    assert (lengths.min(), lengths.max()) == (5, 121)


def test_mq2008_constant_features_and_docids(mq2008: RankingData):
    constant = np.flatnonzero(mq2008.features.max(0) == mq2008.features.min(0)) + 1
    assert constant.tolist() == [6, 7, 8, 9, 10, 43]
    assert mq2008.features.min() >= 0 and mq2008.features.max() <= 1
    assert mq2008.docids[0] == "GX008-86-4444840"
    assert mq2008.comments[0].startswith("docid = GX008-86-4444840 inc = 1 prob =")


def test_mq2008_fold1_is_assembled_from_folds_tsv(data_dir: Path, mq2008: RankingData):
    fold = load_letor_fold(data_dir / "letor4-mq2008", fold=1)
    # Fold1: train = S1+S2+S3, vali = S4, test = S5 (MANIFEST / folds.tsv).
    assert fold.train.num_documents == 2_933 + 3_635 + 3_062
    assert fold.vali.num_documents == 2_707
    assert fold.test.num_documents == 2_874
    train_q, test_q = set(fold.train.qids.tolist()), set(fold.test.qids.tolist())
    assert not train_q & test_q
    assert fold.train.num_queries + fold.vali.num_queries + fold.test.num_queries == 784


def test_fold_directory_with_split_files(tmp_path: Path, data_dir: Path):
    fold_dir = tmp_path / "Fold1"
    fold_dir.mkdir()
    src = data_dir / "letor4-mq2008"
    (fold_dir / "train.txt").write_bytes((src / "S1.txt").read_bytes())
    (fold_dir / "vali.txt").write_bytes((src / "S2.txt").read_bytes())
    (fold_dir / "test.txt").write_bytes((src / "S3.txt").read_bytes())
    direct = load_letor_fold(fold_dir)
    by_number = load_letor_fold(tmp_path, fold=1)
    assert direct.train.num_documents == by_number.train.num_documents == 2_933
    assert direct.test.num_documents == 3_062


def test_ohsumed_feature_null_errors_at_the_first_null_by_default(data_dir: Path):
    path = data_dir / "letor3-ohsumed" / "Feature-null" / "Fold1" / "testset.txt"
    lines = path.read_bytes().split(b"\n")
    first_null_line = next(i for i, line in enumerate(lines, start=1) if b"NULL" in line)
    with pytest.raises(ParseError) as info:
        read_svmlight(path)
    assert info.value.line == first_null_line
    assert "is NULL" in info.value.reason
    assert str(path) in str(info.value)


def test_ohsumed_feature_null_parses_under_the_fill_policy(data_dir: Path):
    root = data_dir / "letor3-ohsumed"
    null_parts = [
        read_svmlight(root / "Feature-null" / f"Fold{k}" / "testset.txt", nonfinite="fill")
        for k in range(1, 6)
    ]
    data = RankingData.concat(null_parts)
    assert (data.num_queries, data.num_documents, data.num_features) == (106, 16_140, 45)
    assert data.report.filled_values == {"NULL": 51_490}
    _, counts = np.unique(data.labels, return_counts=True)
    assert counts.tolist() == [11_303, 2_585, 2_252]
    assert int((~data.has_relevant()).sum()) == 1  # qid 8
    assert data.qids[~data.has_relevant()].tolist() == [8]
    # Feature-min has the same documents, with NULL replaced by the minimum.
    min_part = read_svmlight(root / "Feature-min" / "Fold1" / "testset.txt")
    filled = null_parts[0]
    same = filled.features == min_part.features
    assert same.mean() > 0.8  # only the NULL cells differ
    np.testing.assert_array_equal(filled.labels, min_part.labels)


def test_ohsumed_folds_tsv_gives_three_disjoint_splits(data_dir: Path):
    fold = load_letor_fold(data_dir / "letor3-ohsumed" / "QueryLevelNorm", fold=3)
    qsets = [set(s.qids.tolist()) for s in fold]
    assert sum(len(q) for q in qsets) == 106
    assert not (qsets[0] & qsets[1]) and not (qsets[0] & qsets[2]) and not (qsets[1] & qsets[2])


def test_mslr_sample_parses_from_gzip(data_dir: Path):
    root = data_dir / "mslr-web-rankeval-5k"
    train = read_svmlight(root / "msn1.fold1.train.5k.txt.gz")
    assert (train.num_documents, train.num_queries, train.num_features) == (5_000, 43, 136)
    _, counts = np.unique(train.labels, return_counts=True)
    assert counts.tolist() == [2_792, 1_458, 665, 55, 30]
    assert sorted(train.qids[~train.has_relevant()].tolist()) == [106, 286]
    assert train.docids is None
