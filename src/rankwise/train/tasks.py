"""What the training loop needs to know about a kind of model: a :class:`Task`.

The :class:`~rankwise.train.trainer.Trainer` is the same loop for every model; a task
says how a batch becomes model outputs, how outputs become the training loss, and how a
model is validated:

- :class:`ListRankingTask`: scorers and list rankers on
  :class:`~rankwise.data.RankingBatch` (``model(features, mask) -> scores``), any list
  loss of :mod:`rankwise.losses`, validated by metric strings over every query;
- :class:`EmbeddingTask`: embedders on :class:`~rankwise.data.labelled_items.ItemBatch`
  (``model(features) -> embeddings``), any embedding loss, validated by
  :func:`~rankwise.metrics.retrieval_metrics`;
- :class:`TextRankingTask`: text rankers on :class:`~rankwise.text.lists.TextListBatch`
  (``model(batch) -> scores``, i.e. ``score_batch``), any list or distillation loss, per-list
  curriculum weights, validated like list rankers on each query's candidates;
- :class:`RecommendationTask`: user-item scorers on
  :class:`~rankwise.data.interactions.InteractionBatch` (``model(users, items) -> scores``),
  any recommendation loss, validated by full-ranking recall and NDCG.

``forward`` runs under the trainer's autocast; ``loss`` gets float32 outputs, so losses
and metrics are computed in full precision whatever the autocast.

On several processes (``torchrun``) a task with ``gathers_across_ranks`` computes the
training loss on the global batch (every process's lists or embeddings, the local ones
keeping their gradient) and validates each process's share of the queries, the
per-query values gathered so that each query counts once and every process gets the
same values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from rankwise.data.dataset import RankingBatch
from rankwise.data.interactions import InteractionBatch, Interactions
from rankwise.data.labelled_items import ItemBatch, LabelledItems
from rankwise.distributed import (
    all_gather_objects,
    gather_embeddings,
    gather_lists,
    gather_rows,
    world_size,
)
from rankwise.functional import pl_distillation_loss
from rankwise.metrics.accumulator import MetricAccumulator
from rankwise.metrics.recommendation import full_ranking_metrics
from rankwise.metrics.retrieval import retrieval_metrics
from rankwise.metrics.spec import parse_metric
from rankwise.models.base import RankingModel
from rankwise.text.lists import TextListBatch

# batch -> (model outputs, the batch on the model's device); under the trainer's autocast
Run = Callable[[Any], tuple[Any, Any]]


class Task(Protocol):
    """The model-specific part of training (module docstring).

    Attributes:
        metrics: the keys :meth:`evaluate` returns, first the default model-selection one.
    """

    metrics: list[str]

    def start_epoch(self, model: nn.Module, epoch: int) -> None:
        """Called before each training epoch (0-based)."""

    def forward(self, model: nn.Module, batch: Any) -> Any:
        """The model's outputs for ``batch`` (under autocast)."""

    def loss(self, outputs: Any, batch: Any) -> Tensor:
        """The scalar training loss of ``outputs`` (float32)."""

    def evaluate(self, model: nn.Module, data: Any, run: Run) -> dict[str, float]:
        """Validation values of ``model`` on ``data``; ``run(batch)`` gives the outputs and
        the batch on the device."""


class ListRankingTask:
    """Scorers and list rankers: ``model(features [B, L, F], mask [B, L]) -> scores``.

    Args:
        loss: ``loss(scores, labels, mask=mask) -> scalar`` (a :mod:`rankwise.losses`
            module or any callable).
        metrics: validation metric strings (``"ndcg@10"``); :meth:`evaluate` also returns
            ``"loss"``, the mean validation loss per list.
        input_noise: DASALC's data augmentation (Qin et al., "Are Neural Rankers still
            Outperformed by Gradient Boosted Decision Trees?", ICLR 2021): in training
            (the model in train mode) Gaussian noise of this standard deviation is added
            to the features of real items, drawn from the global torch generator; None
            (default) adds none. Validation and prediction see the features as they are.
        distill_weight: with teacher scores in the training batches (``training.distill``),
            the training loss is ``(1 - w) * loss + w * PLD`` (Plackett-Luce distillation,
            :func:`rankwise.functional.pl_distillation_loss`, at ``distill_temperature``);
            None (default) trains on ``loss`` alone. Validation uses ``loss`` alone.
    """

    gathers_across_ranks = True

    def __init__(
        self,
        loss: Callable[..., Tensor],
        metrics: Sequence[str] = ("ndcg@10",),
        *,
        input_noise: float | None = None,
        distill_weight: float | None = None,
        distill_temperature: float = 1.0,
    ):
        if input_noise is not None and input_noise <= 0:
            raise ValueError(f"input_noise must be > 0 (or None), got {input_noise}")
        if distill_weight is not None and not 0 < distill_weight <= 1:
            raise ValueError(f"distill_weight must be in (0, 1] (or None), got {distill_weight}")
        if distill_temperature <= 0:
            raise ValueError(f"distill_temperature must be > 0, got {distill_temperature}")
        self.input_noise = input_noise
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature
        self.loss_fn = loss
        self.metrics = [parse_metric(m).key for m in metrics]
        if not self.metrics:
            raise ValueError("ListRankingTask: give at least one validation metric")
        self.last_accumulator: MetricAccumulator | None = None  # per-query values

    def start_epoch(self, model: nn.Module, epoch: int) -> None:
        # Staged models (GrowNet) follow a schedule that is a function of the epoch.
        if isinstance(model, RankingModel):
            model.on_epoch_start(epoch)

    def forward(self, model: nn.Module, batch: RankingBatch) -> Tensor:
        features = batch.features
        if self.input_noise is not None and model.training:
            noise = torch.randn_like(features) * self.input_noise
            features = features + noise * batch.mask.unsqueeze(-1)
        scores: Tensor = model(features, batch.mask)
        return scores

    def loss(self, outputs: Tensor, batch: RankingBatch) -> Tensor:
        """The training loss of the global batch (:func:`gather_lists`; this process's
        batch when not distributed)."""
        if self.distill_weight is None:
            scores, mask, (labels,) = gather_lists(outputs.float(), batch.mask, batch.labels)
            return self.loss_fn(scores, labels, mask=mask)
        if batch.teacher is None:
            raise ValueError("distillation needs teacher scores in the training batches")
        scores, mask, (labels, teacher) = gather_lists(
            outputs.float(), batch.mask, batch.labels, batch.teacher
        )
        assert labels is not None and teacher is not None
        w = self.distill_weight
        pld = pl_distillation_loss(
            scores, teacher, labels, mask=mask, temperature=self.distill_temperature
        )
        return (1.0 - w) * self.loss_fn(scores, labels, mask=mask) + w * pld

    def local_loss(self, outputs: Tensor, batch: RankingBatch) -> Tensor:
        """The loss of this process's batch (validation)."""
        return self.loss_fn(outputs.float(), batch.labels, mask=batch.mask)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, data: Iterable[RankingBatch], run: Run
    ) -> dict[str, float]:
        """Mean loss and metrics over every query of ``data`` (a loader of batches); on
        several processes, over every process's ``data`` (each its share of the queries):
        per-query values are gathered and each query counted once, so every process gets
        the single-process values."""
        accumulator = MetricAccumulator(self.metrics)
        loss_sum, lists = 0.0, 0
        for cpu_batch in data:
            scores, batch = run(cpu_batch)
            scores = scores.float()
            loss = self.local_loss(scores, batch)
            loss_sum += float(loss) * batch.batch_size
            lists += batch.batch_size
            qids = np.asarray(batch.qids).tolist()
            accumulator.update(scores, batch.labels, mask=batch.mask, qids=qids)
        if world_size() > 1:
            parts = all_gather_objects((accumulator, loss_sum, lists))
            accumulator = MetricAccumulator(self.metrics)
            for part, _, _ in parts:
                accumulator.merge(part)
            loss_sum, lists = sum(p[1] for p in parts), sum(p[2] for p in parts)
        self.last_accumulator = accumulator
        return {"loss": loss_sum / max(lists, 1), **accumulator.compute()}


class TextRankingTask(ListRankingTask):
    """Text rankers (:mod:`rankwise.text.models`): ``model.score_batch(batch) -> [B, L]``.

    Args:
        loss: a list loss ``loss(scores, labels, mask, weights)``, or a distillation loss
            (:class:`~rankwise.losses.DistillationLoss`), which also gets the batch's
            ``teacher`` scores. The batch's per-list ``weights`` (a curriculum) are passed.
        metrics: validation metric strings, over each query's candidate list.
        lists: the training lists; each epoch draws its own (``set_epoch``).

    The model is called as ``model(batch)`` (a text ranker's ``forward`` is its
    ``score_batch``), so that DistributedDataParallel's wrapper runs; on several
    processes the loss is that of the global batch (scores, labels, list weights and
    teacher scores gathered by :func:`gather_lists`).
    """

    gathers_across_ranks = True
    # a Hugging Face encoder's pooler (and any head the ranker's pooling bypasses) gets
    # no gradient: DistributedDataParallel must look for such parameters every step
    unused_parameters = True

    def __init__(
        self,
        loss: Callable[..., Tensor],
        metrics: Sequence[str] = ("ndcg@10",),
        lists: Any = None,
    ) -> None:
        super().__init__(loss, metrics)
        self.lists = lists
        from rankwise.losses import DistillationLoss, InfoNCELoss, SigLIPLoss, TiledInfoNCELoss

        self.distills = isinstance(loss, DistillationLoss)
        # losses over query and passage vectors: the other lists' passages are negatives
        self.in_batch = isinstance(loss, (InfoNCELoss, TiledInfoNCELoss, SigLIPLoss))
        self.paired = isinstance(loss, SigLIPLoss)

    def start_epoch(self, model: nn.Module, epoch: int) -> None:
        if self.lists is not None:
            self.lists.set_epoch(epoch)

    def forward(self, model: nn.Module, batch: TextListBatch) -> Any:  # type: ignore[override]
        if self.in_batch and model.training:
            from rankwise.text.models import BiEncoder

            inner = getattr(model, "module", model)  # DistributedDataParallel's module
            if not isinstance(inner, BiEncoder):
                raise TypeError(
                    f"loss {type(self.loss_fn).__name__} takes in-batch negatives: it "
                    f"trains bi-encoders (bi_encoder, pseudo_query), not {type(inner).__name__}"
                )
            return model(batch, vectors=True)
        scores: Tensor = model(batch)
        return scores

    def local_loss(self, outputs: Tensor, batch: TextListBatch) -> Tensor:  # type: ignore[override]
        """The loss of this process's lists (validation; NaN for an in-batch loss, which
        compares the training batch's vectors)."""
        if self.in_batch:
            return outputs.new_tensor(float("nan"))
        return self._loss(outputs.float(), batch.mask, batch.labels, batch.weights, batch.teacher)

    def loss(self, outputs: Any, batch: TextListBatch) -> Tensor:  # type: ignore[override]
        """The training loss of the global batch (this process's when not distributed)."""
        if self.in_batch:
            return self._in_batch_loss(outputs[1], outputs[2], batch)
        scores, mask, (labels, weights, teacher) = gather_lists(
            outputs.float(), batch.mask, batch.labels, batch.weights, batch.teacher
        )
        assert labels is not None
        return self._loss(scores, mask, labels, weights, teacher)

    def _in_batch_loss(self, q: Tensor, d: Tensor, batch: TextListBatch) -> Tensor:
        """InfoNCE (or SigLIP) of the global batch's queries against its passages.

        Each list's positive is its most relevant candidate (the first of equals; a list
        without a relevant candidate has no positive and its query is left out). The
        keys are every list's positive and every candidate judged not relevant (label
        <= 0; for InfoNCE: SigLIP pairs each query with its positive only), gathered from
        every process, the local ones keeping their gradient. A query's negatives are
        thus the other queries' positives (in-batch) and the first stage's negatives of
        every list; relevant candidates other than a list's positive are left out, never
        counted as negatives.
        """
        if batch.weights is not None and bool((batch.weights != 1).any()):
            raise ValueError(
                "data.text.curriculum_epochs: list weights do not apply to an in-batch "
                "loss (InfoNCE, SigLIP), which compares every query with every list"
            )
        labels = batch.labels.masked_fill(~batch.mask, float("-inf"))
        # a list without a relevant candidate (or without any) has no positive: its
        # query is left out, its negatives stay keys
        rows = torch.nonzero((labels > 0).any(dim=1)).squeeze(1)
        positives = d[rows, labels[rows].argmax(dim=1)].float()
        queries, counts = gather_rows(q[rows].float())
        if self.paired:
            keys, _ = gather_rows(positives)
            return self.loss_fn(queries, keys)
        negatives = d[batch.mask & (batch.labels <= 0)].float()
        # keys in the order one process with the whole global batch would have: every
        # positive (query i's is key i), then every negative
        keys = torch.cat([gather_rows(positives)[0], gather_rows(negatives)[0]])
        target = torch.arange(int(sum(counts)), device=q.device)
        return self.loss_fn(queries, keys, positives=target)

    def _loss(
        self,
        scores: Tensor,
        mask: Tensor,
        labels: Tensor,
        weights: Tensor | None,
        teacher: Tensor | None,
    ) -> Tensor:
        if self.distills:
            if teacher is None:
                if not torch.is_grad_enabled():  # validation lists carry no teacher
                    return scores.new_tensor(float("nan"))
                raise ValueError("a distillation loss needs teacher scores in the batch")
            return self.loss_fn(scores, labels, mask, weights, teacher_scores=teacher)
        return self.loss_fn(scores, labels, mask, weights)


class EmbeddingTask:
    """Embedders trained with an embedding loss: ``model(features [N, ...]) -> [N, D]``.

    Args:
        loss: ``loss(embeddings, labels) -> scalar`` (a :mod:`rankwise.losses` embedding
            loss or any callable).
        ks: cut-offs of the validation ``hits@k`` (the first is the default monitor).
        similarity: the closeness used to retrieve at validation.

    On several processes the loss sees every process's embeddings as in-batch
    negatives (:func:`~rankwise.distributed.gather_embeddings`, local gradient kept);
    every process validates on all of ``data`` (retrieval within it needs every item).
    """

    gathers_across_ranks = True

    def __init__(
        self,
        loss: Callable[..., Tensor],
        *,
        ks: Sequence[int] = (1,),
        similarity: str = "cosine",
        batch_size: int = 1024,
    ) -> None:
        self.loss_fn = loss
        self.ks = tuple(ks)
        self.similarity = similarity
        self.batch_size = batch_size
        self.metrics = [f"hits@{k}" for k in self.ks] + ["map@r"]

    def start_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    def forward(self, model: nn.Module, batch: ItemBatch) -> Tensor:
        embeddings: Tensor = model(batch.features)
        return embeddings

    def loss(self, outputs: Tensor, batch: ItemBatch) -> Tensor:
        embeddings, labels = gather_embeddings(outputs.float(), batch.labels)
        return self.loss_fn(embeddings, labels)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, data: LabelledItems, run: Run) -> dict[str, float]:
        """Retrieval within ``data`` (each item a query against all the others)."""
        parts = [run(b)[0].float().cpu() for b in data.batches(self.batch_size)]
        embeddings = torch.cat(parts) if parts else torch.zeros(0, 1)
        values = retrieval_metrics(
            embeddings,
            data.labels.cpu(),
            ks=self.ks,
            similarity=self.similarity,  # type: ignore[arg-type]
        )
        return {key: values[key] for key in self.metrics}


class RecommendationTask:
    """User-item scorers: ``model(users [B], items [B, 1 + n]) -> scores``, the observed
    item first; validated by :func:`~rankwise.metrics.full_ranking_metrics` on the held-out
    pairs of an :class:`~rankwise.data.interactions.Interactions` (the model needs an
    ``all_scores()`` method, as :class:`~rankwise.models.MatrixFactorization`).

    Args:
        loss: ``loss(pos_scores [B], neg_scores [B, n]) -> scalar`` (a recommendation loss
            of :mod:`rankwise.losses`).
        k: cut-off of the validation recall and NDCG.

    Trains in one process (its sampled negatives are not gathered across processes).
    """

    gathers_across_ranks = False

    def __init__(self, loss: Callable[..., Tensor], *, k: int = 20) -> None:
        self.loss_fn = loss
        self.k = k
        self.metrics = [f"recall@{k}", f"ndcg@{k}"]

    def start_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    def forward(self, model: nn.Module, batch: InteractionBatch) -> Tensor:
        scores: Tensor = model(batch.users, batch.items)
        return scores

    def loss(self, outputs: Tensor, batch: InteractionBatch) -> Tensor:
        scores = outputs.float()
        return self.loss_fn(scores[:, 0], scores[:, 1:])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, data: Interactions, run: Run) -> dict[str, float]:
        all_scores = getattr(model, "all_scores", None)
        if not callable(all_scores):
            raise TypeError(
                f"RecommendationTask: {type(model).__name__} has no all_scores() method to "
                "score every item for every user"
            )
        values = full_ranking_metrics(data, all_scores(), self.k)
        return {key: values[key] for key in self.metrics}
