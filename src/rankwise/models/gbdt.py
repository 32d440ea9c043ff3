"""Gradient-boosted tree baselines behind rankwise's fit / predict / evaluate path.

- :class:`LightGBMRanker`: LightGBM with ``objective="lambdarank"`` (LambdaMART) or
  ``"rank_xendcg"``;
- :class:`XGBoostRanker`: XGBoost with ``objective="rank:ndcg"`` or ``"rank:pairwise"``;
- :class:`CatBoostRanker`: CatBoost with ``YetiRank`` (the strongest GBDT objective in
  Lyzhin et al., "Which Tricks are Important for Learning to Rank?", ICML 2023),
  ``YetiRankPairwise``, ``QueryRMSE`` or ``PairLogit``.

All train on :class:`~rankwise.data.RankingData` (queries as groups), stop early on
the validation data's NDCG@``eval_at`` as computed by the library itself, and predict
one score per document; rankwise then evaluates those scores with its own metrics, so
a comparison table uses identical conventions for trees and networks. Installed by the
``gbdt`` extra (``pip install rankwise[gbdt]``; the CPU build of XGBoost,
``xgboost-cpu``, and ``catboost``). Defaults: up to 1,000 trees at learning rate
0.05, early stopping after 50 rounds without improvement, everything else the
library's default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from rankwise._hashing import content_hash
from rankwise._optional import import_optional
from rankwise.data.ranking_data import RankingData
from rankwise.errors import CheckpointError
from rankwise.registry import Registry

#: The gradient-boosted tree rankers by name (kind ``"gbdt_model"``).
GBDT_MODELS: Registry[GBDTRanker] = Registry("gbdt_model")


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else 1


class GBDTRanker:
    """Common interface: ``fit(train, valid)``, ``predict(data)``, ``state`` round trip."""

    name: ClassVar[str] = ""
    objectives: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            GBDT_MODELS.add(cls.name, cls)

    def __init__(
        self,
        objective: str | None = None,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        early_stopping_rounds: int | None = 50,
        eval_at: int = 10,
        seed: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        # the first of the library's objectives is its default (LightGBM lambdarank,
        # XGBoost rank:ndcg, CatBoost YetiRank)
        objective = self.objectives[0] if objective is None else objective
        if objective not in self.objectives:
            raise ValueError(
                f"{self.name}: objective must be one of {self.objectives}, got {objective!r}"
            )
        self.params: dict[str, Any] = {
            "objective": objective,
            "n_estimators": n_estimators,
            "learning_rate": learning_rate,
            "early_stopping_rounds": early_stopping_rounds,
            "eval_at": eval_at,
            "seed": seed,
            "extra": dict(extra or {}),
        }
        self.best_iteration: int | None = None
        self.num_features: int | None = None
        self._model: Any = None  # the library's fitted model

    @property
    def config(self) -> dict[str, Any]:
        """``{name, num_features, params}`` of the fitted model."""
        return {"name": self.name, "num_features": self.num_features, "params": dict(self.params)}

    def fit(
        self,
        train: RankingData,
        valid: RankingData | None = None,
        log: Callable[[str], None] | None = None,
    ) -> GBDTRanker:
        raise NotImplementedError

    def predict(self, data: RankingData) -> npt.NDArray[np.float64]:
        """One score per document of ``data`` (after ``fit``)."""
        raise NotImplementedError

    def model_string(self) -> str:
        """The tree library's own text form of the fitted model."""
        raise NotImplementedError

    def load_model_string(self, text: str) -> None:
        """Restore a model from :meth:`model_string`."""
        raise NotImplementedError

    @property
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the trained model (plain types only)."""
        text = self.model_string()
        return {
            "config": self.config,
            "model": text,
            "model_xxh3_128": content_hash(text.encode("utf-8")),
            "best_iteration": self.best_iteration,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GBDTRanker:
        """Rebuild a fitted ranker from :attr:`state` (a checkpoint's ``gbdt_state``).

        The model text is checked against the hash stored with it before the tree
        library parses it: LightGBM's parser crashes the process (a segmentation fault)
        on a truncated model, so a damaged one must never reach it.

        Raises:
            CheckpointError: the model text is missing or does not match its hash.
        """
        text = state.get("model")
        if not isinstance(text, str) or "model_xxh3_128" not in state:
            raise CheckpointError("the tree model's state lacks its model text or hash")
        if content_hash(text.encode("utf-8")) != state["model_xxh3_128"]:
            raise CheckpointError(
                f"the {state['config'].get('name', 'tree')} model text does not match its "
                f"hash (damaged or edited: {len(text):,} characters); retrain or restore "
                "the checkpoint"
            )
        config = state["config"]
        model = GBDT_MODELS.build(config["name"], config["params"])
        model.num_features = config["num_features"]
        model.best_iteration = state.get("best_iteration")
        model.load_model_string(state["model"])
        return model

    def _check_features(self, data: RankingData) -> None:
        if self.num_features is not None and data.num_features != self.num_features:
            raise ValueError(
                f"{self.name}: the data have {data.num_features} features, "
                f"the model was trained on {self.num_features}"
            )


class LightGBMRanker(GBDTRanker):
    """LightGBM LambdaMART (``lambdarank``) or XE-NDCG (``rank_xendcg``)."""

    name = "lightgbm"
    objectives = ("lambdarank", "rank_xendcg")

    @staticmethod
    def _lgb() -> Any:
        return import_optional("lightgbm", "gbdt", "LightGBM")

    def _dataset(self, data: RankingData, reference: Any = None) -> Any:
        lgb = self._lgb()
        return lgb.Dataset(
            np.asarray(data.features),
            label=np.asarray(data.labels),
            group=data.list_lengths(),
            reference=reference,
            free_raw_data=False,
        )

    def fit(
        self,
        train: RankingData,
        valid: RankingData | None = None,
        log: Callable[[str], None] | None = None,
    ) -> LightGBMRanker:
        lgb = self._lgb()
        p = self.params
        params = {
            "objective": p["objective"],
            "learning_rate": p["learning_rate"],
            "metric": "ndcg",
            "eval_at": [p["eval_at"]],
            "seed": p["seed"],
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": _threads(),
            "verbosity": -1,
            **p["extra"],
        }
        self.num_features = train.num_features
        train_set = self._dataset(train)
        callbacks = []
        valid_sets = []
        if valid is not None:
            valid_sets = [self._dataset(valid, reference=train_set)]
            if p["early_stopping_rounds"]:
                callbacks.append(
                    lgb.early_stopping(
                        p["early_stopping_rounds"], first_metric_only=True, verbose=False
                    )
                )
        self._model = lgb.train(
            params,
            train_set,
            num_boost_round=p["n_estimators"],
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        best = int(self._model.best_iteration or 0)
        self.best_iteration = best if best > 0 else self._model.current_iteration()
        if log is not None:
            log(f"{self.name}: {self.best_iteration} trees")
        return self

    def predict(self, data: RankingData) -> npt.NDArray[np.float64]:
        """One score per document of ``data``, with the best iteration's trees."""
        if self._model is None:
            raise RuntimeError("lightgbm: fit or load the model first")
        self._check_features(data)
        out = self._model.predict(np.asarray(data.features), num_iteration=self.best_iteration)
        return np.asarray(out, dtype=np.float64)

    def model_string(self) -> str:
        """LightGBM's text model."""
        return str(self._model.model_to_string())

    def load_model_string(self, text: str) -> None:
        """Restore LightGBM's text model."""
        self._model = self._lgb().Booster(model_str=text)


class XGBoostRanker(GBDTRanker):
    """XGBoost ``rank:ndcg`` (LambdaMART) or ``rank:pairwise`` (RankNet-style)."""

    name = "xgboost"
    objectives = ("rank:ndcg", "rank:pairwise")

    @staticmethod
    def _xgb() -> Any:
        return import_optional("xgboost", "gbdt", "XGBoost")

    def _matrix(self, data: RankingData) -> Any:
        xgb = self._xgb()
        qid = np.repeat(np.arange(data.num_queries), data.list_lengths())
        return xgb.DMatrix(np.asarray(data.features), label=np.asarray(data.labels), qid=qid)

    def fit(
        self,
        train: RankingData,
        valid: RankingData | None = None,
        log: Callable[[str], None] | None = None,
    ) -> XGBoostRanker:
        xgb = self._xgb()
        p = self.params
        params = {
            "objective": p["objective"],
            "eta": p["learning_rate"],
            "eval_metric": f"ndcg@{p['eval_at']}",
            "seed": p["seed"],
            "nthread": _threads(),
            "tree_method": "hist",
            **p["extra"],
        }
        self.num_features = train.num_features
        dtrain = self._matrix(train)
        evals = [] if valid is None else [(self._matrix(valid), "valid")]
        self._model = xgb.train(
            params,
            dtrain,
            num_boost_round=p["n_estimators"],
            evals=evals,
            early_stopping_rounds=p["early_stopping_rounds"] if evals else None,
            verbose_eval=False,
        )
        best = getattr(self._model, "best_iteration", None)
        self.best_iteration = (
            int(best) + 1 if best is not None and evals else int(self._model.num_boosted_rounds())
        )
        if log is not None:
            log(f"{self.name}: {self.best_iteration} trees")
        return self

    def predict(self, data: RankingData) -> npt.NDArray[np.float64]:
        """One score per document of ``data``, with the best iteration's trees."""
        if self._model is None:
            raise RuntimeError("xgboost: fit or load the model first")
        self._check_features(data)
        rounds = self.best_iteration or int(self._model.num_boosted_rounds())
        out = self._model.predict(self._matrix(data), iteration_range=(0, rounds))
        return np.asarray(out, dtype=np.float64)

    def model_string(self) -> str:
        """XGBoost's JSON model."""
        return bytes(self._model.save_raw("json")).decode("utf-8")

    def load_model_string(self, text: str) -> None:
        """Restore XGBoost's JSON model."""
        booster = self._xgb().Booster()
        booster.load_model(bytearray(text.encode("utf-8")))
        self._model = booster


class CatBoostRanker(GBDTRanker):
    """CatBoost with a ranking loss: ``YetiRank`` (default), ``YetiRankPairwise``,
    ``QueryRMSE`` or ``PairLogit``; early stopping on CatBoost's NDCG@``eval_at`` with
    exponential gain (``NDCG:top=k;type=Exp``, rankwise's default gain), the best
    iteration's model kept. CatBoost writes no files (``allow_writing_files=False``)."""

    name = "catboost"
    objectives = ("YetiRank", "YetiRankPairwise", "QueryRMSE", "PairLogit")

    @staticmethod
    def _cb() -> Any:
        return import_optional("catboost", "gbdt", "CatBoost")

    def _pool(self, data: RankingData) -> Any:
        group = np.repeat(np.arange(data.num_queries), data.list_lengths())
        return self._cb().Pool(
            np.asarray(data.features), label=np.asarray(data.labels), group_id=group
        )

    def fit(
        self,
        train: RankingData,
        valid: RankingData | None = None,
        log: Callable[[str], None] | None = None,
    ) -> CatBoostRanker:
        cb = self._cb()
        p = self.params
        params: dict[str, Any] = {
            "loss_function": p["objective"],
            "iterations": p["n_estimators"],
            "learning_rate": p["learning_rate"],
            "eval_metric": f"NDCG:top={p['eval_at']};type=Exp",
            "random_seed": p["seed"],
            "thread_count": _threads(),
            "allow_writing_files": False,
            "verbose": False,
            **p["extra"],
        }
        if valid is not None and p["early_stopping_rounds"]:
            params.update(od_type="Iter", od_wait=p["early_stopping_rounds"])
        self.num_features = train.num_features
        self._model = cb.CatBoost(params)
        self._model.fit(
            self._pool(train),
            eval_set=self._pool(valid) if valid is not None else None,
            use_best_model=valid is not None,
        )
        self.best_iteration = int(self._model.tree_count_)
        if log is not None:
            log(f"{self.name}: {self.best_iteration} trees")
        return self

    def predict(self, data: RankingData) -> npt.NDArray[np.float64]:
        """One score per document of ``data`` (the best iteration's model)."""
        if self._model is None:
            raise RuntimeError("catboost: fit or load the model first")
        self._check_features(data)
        out = self._model.predict(self._pool(data), prediction_type="RawFormulaVal")
        return np.asarray(out, dtype=np.float64)

    def model_string(self) -> str:
        """CatBoost's binary model, base64-encoded (its JSON form does not load back every
        model)."""
        import base64
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.cbm")
            self._model.save_model(path, format="cbm")
            with open(path, "rb") as f:
                return base64.b64encode(f.read()).decode("ascii")

    def load_model_string(self, text: str) -> None:
        """Restore the model of :meth:`model_string`."""
        import base64

        model = self._cb().CatBoost()
        model.load_model(blob=base64.b64decode(text.encode("ascii")))
        self._model = model
