"""rankwise: learning to rank for PyTorch.

Packages (``docs/architecture.md`` has the layers and which may import which):

- :mod:`rankwise.functional` — pure tensor functions: every loss, metric, soft sort;
- :mod:`rankwise.losses` — the losses as ``nn.Module`` classes and their registries;
- :mod:`rankwise.metrics` — metric strings, accumulation, significance, evaluation;
- :mod:`rankwise.data` — ranking data on disk and in memory, batching, transforms;
- :mod:`rankwise.runs` — TREC runs and qrels: I/O, evaluation, fusion;
- :mod:`rankwise.aggregate` — score fusion, pairwise aggregation, tournaments, voting;
- :mod:`rankwise.models` — neural rankers, GBDT baselines, matrix factorisation;
- :mod:`rankwise.train` — the trainer, its callbacks and tasks, configs, checkpoints;
- :mod:`rankwise.report` — comparison tables and the HTML report;
- :mod:`rankwise.registry` — :func:`~rankwise.registry.registries` and
  :func:`~rankwise.registry.build` for every component;
- :mod:`rankwise.errors` — every exception rankwise raises.

The most used names are importable from ``rankwise`` itself::

    import rankwise as rw
    loss = rw.build("loss", {"name": "neural_ndcg", "params": {"k": 10}})
    rw.functional.ndcg(scores, labels, k=10)
"""

from rankwise import aggregate, data, functional, losses, metrics, models, registry, runs
from rankwise._version import __version__
from rankwise.data import RankingBatch, RankingData, load, make_loader, make_synthetic
from rankwise.errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    NonFiniteLossError,
    ParseError,
    RankwiseError,
    RegistryError,
)
from rankwise.losses import EMBEDDING_LOSSES, LOSSES, RECOMMENDATION_LOSSES
from rankwise.metrics import MetricAccumulator, evaluate, parse_metric
from rankwise.models import ContextAwareRanker, LinearScorer, MLPScorer
from rankwise.registry import build, registries
from rankwise.runs import TrecRun, evaluate_run, read_qrels, read_trec_run
from rankwise.train import ListRankingTask, Trainer

__all__ = [
    "EMBEDDING_LOSSES",
    "LOSSES",
    "RECOMMENDATION_LOSSES",
    "CheckpointError",
    "ConfigError",
    "ContextAwareRanker",
    "DataFormatError",
    "LinearScorer",
    "ListRankingTask",
    "MLPScorer",
    "MetricAccumulator",
    "NonFiniteLossError",
    "ParseError",
    "RankingBatch",
    "RankingData",
    "RankwiseError",
    "RegistryError",
    "Trainer",
    "TrecRun",
    "__version__",
    "aggregate",
    "build",
    "data",
    "evaluate",
    "evaluate_run",
    "functional",
    "load",
    "losses",
    "make_loader",
    "make_synthetic",
    "metrics",
    "models",
    "parse_metric",
    "read_qrels",
    "read_trec_run",
    "registries",
    "registry",
    "runs",
]
