"""Ranking data: reading and writing, the in-memory layout, batching, transforms.

On disk: SVMlight/LETOR text (plain or compressed), Parquet, and a memory-mapped
binary cache. In memory: :class:`RankingData` (CSR-like arrays). For training:
:func:`make_loader` yields padded, masked :class:`RankingBatch` objects.
"""

from rankwise.data.cache import load_cache, save_cache
from rankwise.data.dataset import (
    LengthGroupedBatchSampler,
    RankingBatch,
    RankingCollator,
    RankingDataset,
    make_loader,
)
from rankwise.data.formats import detect_format, load, save
from rankwise.data.letor import LetorFold, load_letor_fold
from rankwise.data.parquet import read_parquet, write_parquet
from rankwise.data.ranking_data import LoadReport, RankingData
from rankwise.data.stats import data_statistics
from rankwise.data.svmlight import parse_svmlight, read_svmlight, write_svmlight
from rankwise.data.synthetic import make_synthetic
from rankwise.data.transforms import (
    Clip,
    Compose,
    FeatureTransform,
    QueryMinMax,
    SignedLog1p,
    Standardize,
    build_transform,
    transform_from_state,
)

__all__ = [
    "Clip",
    "Compose",
    "FeatureTransform",
    "LengthGroupedBatchSampler",
    "LetorFold",
    "LoadReport",
    "QueryMinMax",
    "RankingBatch",
    "RankingCollator",
    "RankingData",
    "RankingDataset",
    "SignedLog1p",
    "Standardize",
    "build_transform",
    "data_statistics",
    "detect_format",
    "load",
    "load_cache",
    "load_letor_fold",
    "make_loader",
    "make_synthetic",
    "parse_svmlight",
    "read_parquet",
    "read_svmlight",
    "save",
    "save_cache",
    "transform_from_state",
    "write_parquet",
    "write_svmlight",
]
