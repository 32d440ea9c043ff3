"""Run configuration: YAML in, a validated :class:`RunConfig` out, before anything runs.

Precedence: the defaults below, then the file, then ``--set a.b=c`` overrides (values
parsed as YAML, so ``--set training.epochs=5`` is an int and ``--set metrics=[map]`` a
list). Unknown or misspelt keys fail with the key's full path, the closest allowed
name and the allowed names; wrong types name the key and what was expected;
components (``{name, params}``) are checked against their registry and the target's
signature. See ``configs/`` and the README's config reference.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rankwise.errors import ConfigError, printable
from rankwise.metrics.spec import parse_metric
from rankwise.registry import did_you_mean


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Component(_Strict):
    """A registered component: ``{name: ..., params: {...}}``."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class SyntheticData(_Strict):
    """The embedded synthetic data set (``rankwise.data.make_synthetic``), split by
    query into train/valid/test."""

    num_queries: int = Field(1000, gt=2)
    num_features: int = Field(136, ge=8)
    seed: int = 0
    valid_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    options: dict[str, Any] = Field(default_factory=dict)


class LetorData(_Strict):
    """A LETOR fold: ``root`` holds ``FoldK/`` directories or a ``folds.tsv``."""

    root: str
    fold: int = Field(1, ge=1)


class TextData(_Strict):
    """``data.text``: a text collection for a text ranker (:mod:`rankwise.text`).

    The queries are split by folds (``folds``: stored ones, cranfield, vaswani, dl19 —
    default the collection's name — or a JSON file ``{"folds": [[qid, ...], ...]}``):
    ``test_fold`` (1-based) is the test set, the next fold validates, the rest trains.
    Candidates come from ``first_stage``: ``"bm25"`` (BM25 over the collection),
    ``"given"`` (the collection's own run named ``given``, e.g. DL 2019's BM25 top-100)
    or ``"union"`` (BM25 and the base encoder's dense retrieval), to ``depth``. Training
    lists draw ``positives`` relevant and ``list_size - positives`` negative candidates
    per query and epoch; ``curriculum_epochs`` > 0 weighs lists by first-stage
    difficulty, annealed to uniform over that many epochs.
    """

    collection: str
    folds: str | None = None
    test_fold: int = Field(1, ge=1)
    first_stage: Literal["bm25", "given", "union"] = "bm25"
    given: str = "bm25"
    depth: int = Field(100, gt=0)
    list_size: int = Field(16, ge=2)
    positives: int = Field(1, ge=1)
    curriculum_epochs: int = Field(0, ge=0)
    cache: str | None = None


class DataConfig(_Strict):
    """Where the data come from (exactly one of train/letor/synthetic/text) and batching."""

    train: str | None = None
    valid: str | None = None
    test: str | None = None
    letor: LetorData | None = None
    synthetic: SyntheticData | None = None
    text: TextData | None = None
    read_options: dict[str, Any] = Field(default_factory=dict)
    transform: list[Component] = Field(default_factory=list)
    batch_size: int = Field(64, gt=0)
    eval_batch_size: int = Field(256, gt=0)
    max_list_length: int | None = Field(None, gt=0)
    num_workers: int = Field(0, ge=0)
    # training data larger than memory: 'train' a shard directory (rankwise data convert
    # --shards K) streams through a shuffle buffer of this many queries
    stream_buffer: int = Field(4096, gt=0)
    # stream 'train' when it is a binary cache directory too, in blocks of whole queries
    # (a shard directory always streams; without this a cache is memory-mapped)
    stream: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        sources = [
            n for n in ("train", "letor", "synthetic", "text") if getattr(self, n) is not None
        ]
        if len(sources) != 1:
            raise ValueError(
                "data: give exactly one source: 'train' (with 'valid'/'test' paths), "
                f"'letor', 'synthetic' or 'text' (got {sources or 'none'})"
            )
        if self.train is None and (self.valid is not None or self.test is not None):
            raise ValueError("data: 'valid'/'test' paths go with a 'train' path")
        return self


class EarlyStoppingConfig(_Strict):
    """``training.early_stopping``: the monitored metric (or ``loss``), patience, min_delta."""

    metric: str = "ndcg@10"
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        return v if v == "loss" else parse_metric(v).key


class DistillConfig(_Strict):
    """``training.distill``: listwise distillation from a gradient-boosted teacher.

    The teacher (a GBDT model spec, e.g. ``{name: lightgbm, params: {objective:
    lambdarank}}``) is trained ``folds`` times, each time without one part of the
    training queries, and scores that part (out-of-fold scores: a teacher scoring its own
    training lists would only echo their labels), ``repeats`` times on other partitions
    (averaged); the scores are standardized per list.
    The neural ranker then minimises ``(1 - weight) * loss + weight * PLD`` with PLD the
    Plackett-Luce distillation loss (:func:`rankwise.functional.pl_distillation_loss`:
    labels first, teacher order within ties, steps weighted by the teacher's softmax at
    ``temperature``)."""

    teacher: Component
    weight: float = Field(0.5, gt=0, le=1)
    temperature: float = Field(1.0, gt=0)
    folds: int = Field(5, ge=2)
    repeats: int = Field(1, ge=1)


class TrainingConfig(_Strict):
    """``training``: epochs, early stopping, clipping, EMA, ensemble, autocast, logs."""

    epochs: int = Field(20, ge=1)
    early_stopping: EarlyStoppingConfig | None = Field(
        default_factory=lambda: EarlyStoppingConfig.model_validate({})
    )
    grad_clip: float | None = Field(None, gt=0)
    ema_decay: float | None = Field(None, gt=0, lt=1)
    ensemble: int = Field(1, ge=1)
    amp: Literal["none", "bf16", "fp16"] = "none"
    scheduler_interval: Literal["epoch", "step"] = "epoch"
    progress: bool = True
    tensorboard: bool = True
    # DASALC's input noise (Qin et al., ICLR 2021): Gaussian noise of this standard
    # deviation added to the (transformed) features of real items in training batches
    input_noise: float | None = Field(None, gt=0)
    distill: DistillConfig | None = None


def _default_metrics() -> list[str]:
    return ["ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "map"]


class RunConfig(_Strict):
    """A whole run: data, model, loss, optimization, metrics, output."""

    name: str = "run"
    seed: int = 0
    device: str = "auto"
    output_dir: str = "runs"
    data: DataConfig
    model: Component
    loss: Component = Field(default_factory=lambda: Component(name="neural_ndcg"))
    optimizer: Component = Field(
        default_factory=lambda: Component(name="adam", params={"lr": 1e-3})
    )
    scheduler: Component | None = None
    training: TrainingConfig = Field(default_factory=lambda: TrainingConfig.model_validate({}))
    metrics: list[str] = Field(default_factory=_default_metrics)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("give at least one metric")
        return [parse_metric(m).key for m in v]

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        # the run directory is output_dir/name: a name with a separator or '..' would
        # write somewhere else
        if not v or v in (".", "..") or any(c in v for c in "/\\") or not v.isprintable():
            raise ValueError(
                f"name {v!r} must be one directory name (no '/', '\\', '..' or control "
                "characters): the run is written to output_dir/name"
            )
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v not in ("auto", "cpu", "cuda") and not v.startswith("cuda:"):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {v!r}")
        return v

    @model_validator(mode="after")
    def _components(self) -> RunConfig:
        from rankwise.train.build import check_components, model_kind

        check_components(self)
        text_model = model_kind(self.model.name) == "text_model"
        if text_model != (self.data.text is not None):
            raise ValueError(
                f"model {self.model.name!r} "
                + (
                    "is a text ranker: give data.text"
                    if text_model
                    else "takes feature vectors: data.text is for text rankers"
                )
            )
        return self

    @property
    def run_dir(self) -> Path:
        """``output_dir/name``."""
        return Path(self.output_dir) / self.name


# ------------------------------------------------------------------------ loading
def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside ``X``, ``X | None``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, Sequence):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _unknown_keys(data: Any, model: type[BaseModel], path: str) -> list[str]:
    """Messages for keys of ``data`` that ``model`` does not have, recursively."""
    if not isinstance(data, Mapping):
        return []
    problems = []
    fields = model.model_fields
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            problems.append(
                f"{where}: unknown key{did_you_mean(str(key), fields)}; "
                f"allowed: {', '.join(fields)}"
            )
            continue
        if model is Component and key == "params":
            continue  # checked against the component's signature instead
        inner = _model_of(fields[key].annotation)
        if inner is None:
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                problems += _unknown_keys(item, inner, f"{where}[{i}]")
        else:
            problems += _unknown_keys(value, inner, where)
    return problems


def _format_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
        loc = loc.replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
        out.append(f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}")
    return out


def _default_section(key: str) -> dict[str, Any] | None:
    field = RunConfig.model_fields.get(key)
    if field is None or field.is_required():
        return None
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json")
        return dumped
    return None


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b=c`` overrides (values parsed as YAML) to a raw config dict."""
    out = dict(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. training.epochs=5")
        key, text = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({exc})") from exc
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None and i == 0:
                # overriding inside a section the file left at its default: start from
                # the default (``--set optimizer.params.lr=0.01`` keeps Adam)
                child = _default_section(part)
            if child is None:
                child = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {'.'.join(parts[: i + 1])} is not a mapping")
            else:
                child = dict(child)
            node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def validate_config(raw: Mapping[str, Any]) -> RunConfig:
    """Validate a raw mapping; :class:`ConfigError` lists every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the config must be a mapping of keys to values")
    problems = _unknown_keys(raw, RunConfig, "")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    try:
        return RunConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError("invalid config:\n  " + "\n  ".join(_format_errors(exc))) from None
    except (ValueError, TypeError) as exc:  # registry errors raised inside validators
        raise ConfigError(f"invalid config:\n  {exc}") from None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a YAML config, apply ``--set`` overrides, validate."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({printable(str(exc))})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the config must be a mapping of keys to values")
    return validate_config(apply_overrides(raw, overrides))


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The dotted keys whose values differ between two resolved configs, with
    ``(old, new)``; nested mappings are compared key by key, lists as wholes.

    Example:
        >>> config_changes({"seed": 0, "loss": {"name": "listnet"}},
        ...                {"seed": 0, "loss": {"name": "neural_ndcg"}})
        {'loss.name': ('listnet', 'neural_ndcg')}
    """
    out: dict[str, tuple[Any, Any]] = {}

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in list(a) + [k for k in b if k not in a]:
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
        elif a != b:
            out[where] = (a, b)

    walk(old, new, "")
    return out


def dump_config(config: RunConfig) -> str:
    """The resolved config (defaults filled in) as YAML."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
