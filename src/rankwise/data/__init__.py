"""Ranking data: reading and writing, the in-memory layout, batching, transforms.

On disk: SVMlight/LETOR text (plain or compressed), Parquet, and a memory-mapped
binary cache; MovieLens interactions. In memory: :class:`RankingData` (CSR-like arrays),
:class:`LabelledItems` (items with class labels, for embedding models) and
:class:`Interactions` (user-item pairs). For training: :func:`make_loader` yields padded,
masked :class:`RankingBatch` objects, :func:`class_balanced_loader` class-balanced
:class:`ItemBatch` objects and :func:`interaction_loader` :class:`InteractionBatch`
objects with sampled negatives; query splits in :mod:`~rankwise.data.splits`.
"""

from rankwise.data.cache import load_cache, save_cache
from rankwise.data.dataset import RankingBatch, RankingCollator, RankingDataset, make_loader
from rankwise.data.formats import detect_format, load, read_scores, save
from rankwise.data.interactions import (
    InteractionBatch,
    InteractionLoader,
    Interactions,
    interaction_loader,
)
from rankwise.data.labelled_items import ItemBatch, LabelledItems, class_balanced_loader
from rankwise.data.letor import LetorFold, load_letor_fold
from rankwise.data.movielens import load_movielens
from rankwise.data.parquet import read_parquet, write_parquet
from rankwise.data.ranking_data import LoadReport, RankingData
from rankwise.data.samplers import ClassBalancedBatchSampler, LengthGroupedBatchSampler
from rankwise.data.splits import Splits, load_splits, split_queries
from rankwise.data.stats import data_statistics
from rankwise.data.svmlight import parse_svmlight, read_svmlight, write_svmlight
from rankwise.data.synthetic import SyntheticTeacher, make_synthetic, synthetic_teacher
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
    "ClassBalancedBatchSampler",
    "Clip",
    "Compose",
    "FeatureTransform",
    "InteractionBatch",
    "InteractionLoader",
    "Interactions",
    "ItemBatch",
    "LabelledItems",
    "LengthGroupedBatchSampler",
    "LetorFold",
    "LoadReport",
    "QueryMinMax",
    "RankingBatch",
    "RankingCollator",
    "RankingData",
    "RankingDataset",
    "SignedLog1p",
    "Splits",
    "Standardize",
    "SyntheticTeacher",
    "build_transform",
    "class_balanced_loader",
    "data_statistics",
    "detect_format",
    "interaction_loader",
    "load",
    "load_cache",
    "load_letor_fold",
    "load_movielens",
    "load_splits",
    "make_loader",
    "make_synthetic",
    "parse_svmlight",
    "read_parquet",
    "read_scores",
    "read_svmlight",
    "save",
    "save_cache",
    "split_queries",
    "synthetic_teacher",
    "transform_from_state",
    "write_parquet",
    "write_svmlight",
]
