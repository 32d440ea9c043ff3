"""Text rankers that score a :class:`~rankwise.text.lists.TextListBatch`: ``[B, L]``
scores for B queries x L candidate passages, so every list loss of
:mod:`rankwise.losses` trains them.

- :class:`BiEncoder`: query and passage vectors from one :class:`TextEncoder` (mean
  pooling, normalised), score = cosine / ``temperature``. With
  ``train_documents=False`` the passages' vectors come from the batch
  (``batch.doc_vectors``, from an :class:`~rankwise.text.embeddings.EmbeddingStore`)
  and only the query side learns: cheap, and the cached collection stays valid.
- :class:`CrossEncoder`: the query–passage pair through the transformer together, a
  linear head on the pooled pair (``pooling="cls"`` or ``"mean"``) gives the score.
- :class:`ListReranker`: a Transformer over the candidate list (cached passage vectors
  and first-stage scores as tokens, the query as one more), correcting the cosine.
- :class:`PseudoQueryBiEncoder`: E²Rank (Alibaba-NLP/E2Rank): the query is rewritten
  as a pseudo-query, the query followed by the texts of the top ``feedback`` passages of
  the list (in the order the batch gives them, i.e. the first stage's), embedded by the
  same encoder; score = cosine(pseudo-query, passage) / ``temperature``. Zero-shot, or
  trained like any bi-encoder.

``chunk_size`` turns on gradient caching (:func:`~rankwise.text.encoders.cached_encode`):
any batch x list size trains in the memory of ``chunk_size`` texts (or pairs).

Every model records ``name`` and ``params`` in :attr:`config` and saves its whole state
(the transformer's weights included) in a checkpoint; :func:`build_text_model` rebuilds
it from the config, loading the base weights from the same local folder first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rankwise.registry import Registry
from rankwise.text.encoders import Pooling, TextEncoder, cached_encode
from rankwise.text.lists import TextListBatch

#: Text rankers by name (kind ``"text_model"``).
TEXT_MODELS: Registry[TextRanker] = Registry("text_model")


class TextRanker(nn.Module):
    """Base class of the registered text rankers: ``score_batch(batch) -> [B, L]``."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            TEXT_MODELS.add(cls.name, cls, (cls.__doc__ or "").strip().splitlines()[0])

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.params = dict(params)

    @property
    def config(self) -> dict[str, Any]:
        """``{"name", "params"}``: what :func:`build_text_model` needs."""
        return {"name": self.name, "params": dict(self.params)}

    def score_batch(self, batch: TextListBatch) -> Tensor:
        """Scores ``[B, L]`` of the batch's candidates (0 at padding)."""
        raise NotImplementedError

    def forward(self, batch: TextListBatch) -> Tensor:
        return self.score_batch(batch)

    @staticmethod
    def _scatter(values: Tensor, positions: Tensor, mask: Tensor) -> Tensor:
        out = values.new_zeros(mask.numel())
        out = out.index_put((positions,), values)
        return out.view(mask.shape)


def _encoder(
    path: str | Path | None, pooling: Pooling, normalize: bool, max_length: int | None, modules: Any
) -> TextEncoder:
    return TextEncoder(
        path, pooling=pooling, normalize=normalize, max_length=max_length, modules=modules
    )


class BiEncoder(TextRanker):
    """Bi-encoder: cosine of query and passage vectors over a temperature.

    Args:
        path: the model folder (``"default"``: all-MiniLM-L6-v2).
        pooling: ``"mean"`` (default) or ``"cls"``.
        temperature: scores are cosine / temperature (0.05: cosine x 20, the scale
            sentence-transformers' contrastive losses use).
        query_max_length: tokens per query (queries are short; fewer tokens, faster).
        train_documents: encode passages with autograd; when False the batch must carry
            ``doc_vectors`` (cached, made by the *base* model of ``path``) and only the
            query encoder is trained: a trained model's passage vectors are still the
            base model's (``build_text_model(model.config).encoder`` makes them).
        chunk_size: gradient caching over this many texts at a time (None: off).
        modules: ``(transformer, tokenizer)`` built in memory (tests).
    """

    name = "bi_encoder"

    def __init__(
        self,
        path: str = "default",
        *,
        pooling: Pooling = "mean",
        temperature: float = 0.05,
        max_length: int | None = None,
        query_max_length: int = 64,
        train_documents: bool = True,
        chunk_size: int | None = None,
        modules: Any = None,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(
            path=path,
            pooling=pooling,
            temperature=temperature,
            max_length=max_length,
            query_max_length=query_max_length,
            train_documents=train_documents,
            chunk_size=chunk_size,
        )
        self.encoder = _encoder(path, pooling, True, max_length, modules)
        self.temperature = temperature
        self.query_max_length = query_max_length
        self.train_documents = train_documents
        self.chunk_size = chunk_size

    def _encode(self, texts: Sequence[str], max_length: int | None = None) -> Tensor:
        limit = self.encoder.max_length
        if max_length is not None:
            self.encoder.max_length = min(limit, max_length)
        try:
            if self.chunk_size is None:
                vectors: Tensor = self.encoder(texts)
                return vectors
            return cached_encode(
                self.encoder, list(texts), self.chunk_size, list(self.parameters())
            )
        finally:
            self.encoder.max_length = limit

    def encode_queries(self, queries: Sequence[str]) -> Tensor:
        """Query vectors ``[B, D]``."""
        return self._encode(queries, self.query_max_length)

    def passage_vectors(self, batch: TextListBatch) -> Tensor:
        """Passage vectors ``[B, L, D]`` (cached ones when the batch has them and
        passages are not trained, else encoded)."""
        if batch.doc_vectors is not None and not (self.training and self.train_documents):
            return batch.doc_vectors
        if not self.train_documents and self.training:
            raise ValueError("bi_encoder with train_documents=False needs cached doc_vectors")
        _, passages, positions = batch.real_pairs()
        flat = self._encode(passages)
        out = flat.new_zeros(batch.mask.numel(), flat.shape[-1])
        out = out.index_put((positions,), flat)
        return out.view(*batch.mask.shape, -1)

    def score_batch(self, batch: TextListBatch) -> Tensor:
        return self.vectors(batch)[0]

    def vectors(self, batch: TextListBatch) -> tuple[Tensor, Tensor, Tensor]:
        """``(scores [B, L], query vectors [B, D], passage vectors [B, L, D])`` of the
        batch (what an in-batch-negative loss needs besides the scores)."""
        q = self.query_vectors(batch)
        d = self.passage_vectors(batch).to(q.dtype)
        scores = torch.einsum("bd,bld->bl", q, d) / self.temperature
        return scores.masked_fill(~batch.mask, 0.0), q, d

    def query_vectors(self, batch: TextListBatch) -> Tensor:
        """The vectors ``[B, D]`` the batch's lists are scored against."""
        return self.encode_queries(batch.queries)

    def forward(self, batch: TextListBatch, *, vectors: bool = False) -> Any:
        """Scores ``[B, L]``, or with ``vectors`` the triple of :meth:`vectors` (through
        ``forward``, so that DistributedDataParallel's wrapper runs)."""
        return self.vectors(batch) if vectors else self.score_batch(batch)


def pseudo_query_text(query: str, passages: Sequence[str]) -> str:
    """E²Rank's pseudo-query: the query's text followed by the passages' texts, in order.

    Example:
        >>> pseudo_query_text("cats", ["Cats purr.", "Dogs bark."])
        'cats Cats purr. Dogs bark.'
    """
    return " ".join([query, *passages])


class PseudoQueryBiEncoder(BiEncoder):
    """E²Rank: cosine of a pseudo-query (query + top passages) and each passage.

    ``feedback``: passages of the list (its first ones) appended to the query; the other
    arguments are :class:`BiEncoder`'s.
    """

    name = "pseudo_query"

    def __init__(
        self,
        path: str = "default",
        *,
        feedback: int = 3,
        pooling: Pooling = "mean",
        temperature: float = 0.05,
        max_length: int | None = None,
        train_documents: bool = True,
        chunk_size: int | None = None,
        modules: Any = None,
    ) -> None:
        if feedback < 1:
            raise ValueError(f"feedback must be >= 1, got {feedback}")
        super().__init__(
            path,
            pooling=pooling,
            temperature=temperature,
            max_length=max_length,
            train_documents=train_documents,
            chunk_size=chunk_size,
            modules=modules,
        )
        del self.params["query_max_length"]  # a pseudo-query is long: the passage limit
        self.params["feedback"] = feedback
        self.feedback = feedback

    def pseudo_queries(self, batch: TextListBatch) -> list[str]:
        """Each query followed by its list's first ``feedback`` passages."""
        out = []
        for row, query in enumerate(batch.queries):
            real = int(batch.mask[row].sum())
            top = batch.documents[row][: min(self.feedback, real)]
            out.append(pseudo_query_text(query, top))
        return out

    def query_vectors(self, batch: TextListBatch) -> Tensor:
        return self._encode(self.pseudo_queries(batch))


class CrossEncoder(TextRanker):
    """Cross-encoder: a linear head on the pooled query–passage pair.

    Args:
        path: the model folder (``"default"``: all-MiniLM-L6-v2, a bi-encoder checkpoint:
            its head starts untrained).
        pooling: ``"cls"`` (the [CLS] state, as BERT rerankers) or ``"mean"``.
        max_length: tokens per pair (the passage is truncated).
        chunk_size: gradient caching over this many pairs at a time (None: off).
        modules: ``(transformer, tokenizer)`` built in memory (tests).
    """

    name = "cross_encoder"

    def __init__(
        self,
        path: str = "default",
        *,
        pooling: Pooling = "cls",
        max_length: int | None = None,
        chunk_size: int | None = None,
        modules: Any = None,
    ) -> None:
        super().__init__(path=path, pooling=pooling, max_length=max_length, chunk_size=chunk_size)
        self.encoder = _encoder(path, pooling, False, max_length, modules)
        self.head = nn.Linear(self.encoder.dim, 1)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        self.chunk_size = chunk_size

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> Tensor:
        """One score per ``(query, passage)`` pair ``[N]``."""
        if not pairs:
            return self.head.weight.new_zeros(0)
        queries, passages = zip(*pairs, strict=True)
        hidden = self.encoder.hidden(self.encoder.tokens(queries, passages))
        out: Tensor = self.head(hidden).squeeze(-1)
        return out

    def score_batch(self, batch: TextListBatch) -> Tensor:
        queries, passages, positions = batch.real_pairs()
        pairs = list(zip(queries, passages, strict=True))
        if self.chunk_size is None:
            flat = self.score_pairs(pairs)
        else:
            flat = cached_encode(
                lambda rows: self.score_pairs(rows).unsqueeze(-1),
                pairs,
                self.chunk_size,
                list(self.parameters()),
            ).squeeze(-1)
        return self._scatter(flat.float(), positions, batch.mask)


class ListReranker(TextRanker):
    """List reranker: candidates see each other, over cached passage vectors and
    first-stage scores.

    The idea of PE-Rank's passage embeddings as list tokens and of ListConRanker's list
    encoder, without an LLM: each candidate is a token built from its cached vector
    ``d``, ``q * d``, the cosine ``q . d`` and its first-stage score z-normalised in the
    list; the query vector is one more token; a Transformer encoder attends over
    ``[q; c_1 .. c_n]`` (padding masked, no positions: the ranking does not depend on the
    candidates' order); a linear head adds a correction to the cosine / temperature, and
    starts at zero, so an untrained reranker ranks like the bi-encoder. The query
    encoder is frozen unless ``train_query_encoder``.

    Args:
        path: the encoder folder (its passage vectors must be the batch's ``doc_vectors``).
        d_model, num_layers, num_heads, dropout: the list Transformer.
        temperature: the cosine's scale, as :class:`BiEncoder`'s.
        train_query_encoder: also fine-tune the query encoder.
    """

    name = "list_reranker"

    def __init__(
        self,
        path: str = "default",
        *,
        d_model: int = 128,
        num_layers: int = 2,
        num_heads: int = 4,
        dropout: float = 0.1,
        temperature: float = 0.05,
        query_max_length: int = 64,
        train_query_encoder: bool = False,
        modules: Any = None,
    ) -> None:
        super().__init__(
            path=path,
            d_model=d_model,
            num_layers=num_layers,
            num_heads=num_heads,
            dropout=dropout,
            temperature=temperature,
            query_max_length=query_max_length,
            train_query_encoder=train_query_encoder,
        )
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.encoder = _encoder(path, "mean", True, None, modules)
        for p in self.encoder.parameters():
            p.requires_grad_(train_query_encoder)
        dim = self.encoder.dim
        self.item = nn.Linear(2 * dim + 2, d_model)
        self.query = nn.Linear(dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, num_heads, 2 * d_model, dropout, batch_first=True, norm_first=True
        )
        self.lists = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.temperature = temperature
        self.query_max_length = query_max_length

    def score_batch(self, batch: TextListBatch) -> Tensor:
        if batch.doc_vectors is None:
            raise ValueError("list_reranker needs cached passage vectors (batch.doc_vectors)")
        limit = self.encoder.max_length
        self.encoder.max_length = min(limit, self.query_max_length)
        try:
            q = self.encoder(batch.queries)
        finally:
            self.encoder.max_length = limit
        return self.score_vectors(q, batch.doc_vectors, batch.first_stage, batch.mask)

    def score_vectors(
        self, q: Tensor, doc_vectors: Tensor, first_stage: Tensor | None, mask: Tensor
    ) -> Tensor:
        """Scores ``[B, L]`` (0 at padding) from query vectors ``q`` [B, D], cached
        passage vectors [B, L, D], first-stage scores [B, L] (None: all equal) and the
        mask [B, L] (the exported graph of :mod:`rankwise.serving.text_export` calls
        this too)."""
        d = doc_vectors.to(q.dtype)
        cos = torch.einsum("bd,bld->bl", q, d)
        first = first_stage if first_stage is not None else torch.zeros_like(cos)
        first = first.to(q.dtype).masked_fill(~mask, 0.0)
        count = mask.sum(1, keepdim=True).clamp_min(1)
        mean = first.sum(1, keepdim=True) / count
        var = ((first - mean) ** 2).masked_fill(~mask, 0.0).sum(1, keepdim=True) / count
        z = ((first - mean) / var.sqrt().clamp_min(1e-6)).masked_fill(~mask, 0.0)
        items = torch.cat([d, q.unsqueeze(1) * d, cos.unsqueeze(-1), z.unsqueeze(-1)], -1)
        tokens = torch.cat([self.query(q).unsqueeze(1), self.item(items)], 1)
        padding = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], 1)
        hidden = self.lists(tokens, src_key_padding_mask=padding)
        scores: Tensor = cos / self.temperature + self.head(hidden[:, 1:]).squeeze(-1)
        return scores.masked_fill(~mask, 0.0)


def needs_passage_vectors(model: nn.Module) -> bool:
    """Whether ``model`` scores from cached passage vectors (made by its base encoder):
    a bi-encoder that does not train passages, or a list reranker."""
    if isinstance(model, ListReranker):
        return True
    return isinstance(model, BiEncoder) and not model.train_documents


def build_text_model(config: dict[str, Any], **supplied: Any) -> TextRanker:
    """A text ranker from ``{"name", "params"}`` (a checkpoint's config); ``supplied``
    (e.g. ``modules=``) goes to the constructor."""
    name = config.get("name")
    if not isinstance(name, str):
        raise ValueError("text model config needs a 'name'")
    return TEXT_MODELS.build(name, {**config.get("params", {}), **supplied})
