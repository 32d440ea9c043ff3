"""The reranking service: ``rankwise serve CHECKPOINT`` (FastAPI on uvicorn).

FastAPI and uvicorn are a well-kept ASGI stack whose request validation is pydantic's,
the library rankwise's configs already use; the API's JSON schema comes for free at
``/docs`` and ``/openapi.json``.

Endpoints:

- ``POST /rank`` ``{"lists": [{"features": [[f1, ..., fF], ...], "id": "q1"}, ...]}``
  (a text ranker's: ``{"lists": [{"query": "...", "passages": ["...", ...]}]}``, or one
  list as ``{"query": ..., "passages": [...]}``)
  (or one list: ``{"features": [[...], ...]}``) returns ``{"model": ..., "results":
  [{"id": ..., "scores": [...], "order": [...]}, ...]}``: a score per item, in input
  order, and ``order``, the item indices best first (ties by input position). Scores
  are those of ``rankwise predict`` on the same lists: the checkpoint's feature
  transform is applied, then the model (neural, ensemble or GBDT).
- ``GET /health``: ``{"status": "ok", ...}`` with the model's name and feature width.
- ``GET /metrics``: Prometheus text format: requests by status, request latency and
  micro-batch size histograms, lists and documents scored.

Limits (each a 4xx naming the bad field): request body bytes (413), lists per request,
items per list, the feature width (it must be the model's), finite numbers only (422).
Concurrent requests are micro-batched: a request waits at most ``batch_wait_ms`` for
others, and up to ``max_batch_lists`` lists are scored in one call of the model.
Checkpoints are read with ``torch.load(weights_only=True)`` (opening one runs no code).
On shutdown (SIGINT/SIGTERM) uvicorn stops accepting connections, requests in flight
are finished, then the batcher stops.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from rankwise.data.ranking_data import RankingData
from rankwise.errors import CheckpointError
from rankwise.train.predict import Predictor, load_predictor


@dataclass(frozen=True)
class ServiceLimits:
    """What one request may hold, and how requests are batched."""

    max_request_bytes: int = 8 * 1024 * 1024
    max_lists: int = 256
    max_list_length: int = 2000
    max_batch_lists: int = 512
    batch_wait_ms: float = 2.0


class ItemList(BaseModel):
    """One list to rank: its items' feature vectors, and an optional id echoed back."""

    features: list[list[float]] = Field(min_length=1)
    id: str | None = None


class RankRequest(BaseModel):
    """Several lists (``lists``) or one (``features``)."""

    lists: list[ItemList] | None = None
    features: list[list[float]] | None = None
    id: str | None = None


class RankResult(BaseModel):
    id: str | None
    scores: list[float]
    order: list[int]


class RankResponse(BaseModel):
    model: str
    results: list[RankResult]


class RequestError(Exception):
    """A request the model cannot score: ``status``, and the field ``loc`` at fault."""

    def __init__(self, status: int, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.status, self.loc, self.message = status, loc, message


BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str) -> list[str]:
        counts = self.counts or [0] * len(self.buckets)
        out = [
            f'{name}_bucket{{le="{b:g}"}} {c}' for b, c in zip(self.buckets, counts, strict=True)
        ]
        out += [f'{name}_bucket{{le="+Inf"}} {self.n}', f"{name}_sum {self.total:.9g}"]
        return [*out, f"{name}_count {self.n}"]


@dataclass
class ServiceMetrics:
    """Counters behind ``/metrics``."""

    requests: dict[int, int] = field(default_factory=dict)
    lists: int = 0
    documents: int = 0
    latency: _Histogram = field(default_factory=lambda: _Histogram(BUCKETS_S))
    batch_lists: _Histogram = field(default_factory=lambda: _Histogram(BATCH_BUCKETS))

    def prometheus(self) -> str:
        lines = [
            "# HELP rankwise_requests_total Requests to /rank by HTTP status.",
            "# TYPE rankwise_requests_total counter",
        ]
        lines += [
            f'rankwise_requests_total{{status="{s}"}} {n}' for s, n in sorted(self.requests.items())
        ]
        lines += [
            "# HELP rankwise_lists_scored_total Lists scored.",
            "# TYPE rankwise_lists_scored_total counter",
            f"rankwise_lists_scored_total {self.lists}",
            "# HELP rankwise_documents_scored_total Items scored.",
            "# TYPE rankwise_documents_scored_total counter",
            f"rankwise_documents_scored_total {self.documents}",
            "# HELP rankwise_request_seconds Latency of /rank requests.",
            "# TYPE rankwise_request_seconds histogram",
            *self.latency.lines("rankwise_request_seconds"),
            "# HELP rankwise_batch_lists Lists per micro-batch of the model.",
            "# TYPE rankwise_batch_lists histogram",
            *self.batch_lists.lines("rankwise_batch_lists"),
        ]
        return "\n".join(lines) + "\n"


def rank_order(scores: npt.NDArray[np.float64]) -> list[int]:
    """Item indices by descending score, ties by input position.

    >>> rank_order(np.array([0.1, 0.5, 0.5, -1.0]))
    [1, 2, 0, 3]
    """
    return [int(i) for i in np.argsort(-scores, kind="stable")]


class _Batcher:
    """Collects concurrent requests' lists and scores them in one call of ``predict``
    (lists -> one score array per list), run in a worker thread."""

    def __init__(
        self,
        predict: Callable[[list[Any]], list[npt.NDArray[np.float64]]],
        limits: ServiceLimits,
        metrics: ServiceMetrics,
    ):
        self.predict = predict
        self.limits = limits
        self.metrics = metrics
        self.queue: asyncio.Queue[tuple[list[Any], asyncio.Future[Any]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task

    async def score(self, lists: list[Any]) -> list[npt.NDArray[np.float64]]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.queue.put((lists, future))
        result: list[npt.NDArray[np.float64]] = await future
        return result

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = [await self.queue.get()]
            size = len(pending[0][0])
            deadline = loop.time() + self.limits.batch_wait_ms / 1000
            while size < self.limits.max_batch_lists:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
                pending.append(item)
                size += len(item[0])
            lists = [x for request, _ in pending for x in request]
            try:
                scores = await loop.run_in_executor(None, self.predict, lists)
            except Exception as exc:  # every waiting request learns of it
                for _, future in pending:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.metrics.batch_lists.observe(len(lists))
            start = 0
            for request, future in pending:
                if not future.done():
                    future.set_result(scores[start : start + len(request)])
                start += len(request)


def _feature_scorer(
    predictor: Predictor,
) -> Callable[[list[npt.NDArray[np.float32]]], list[npt.NDArray[np.float64]]]:
    """Lists of feature rows -> scores, as ``rankwise predict`` computes them."""

    def predict(lists: list[npt.NDArray[np.float32]]) -> list[npt.NDArray[np.float64]]:
        lengths = [x.shape[0] for x in lists]
        features = np.concatenate(lists).astype(np.float32, copy=False)
        qids = np.repeat(np.arange(len(lists)), lengths)
        data = RankingData.from_documents(
            features, np.zeros(features.shape[0], dtype=np.float32), qids, source="request"
        )
        scores = predictor.predict(data, batch_size=max(len(lists), 1))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return [scores[offsets[i] : offsets[i + 1]] for i in range(len(lists))]

    return predict


class TextItems(BaseModel):
    """One text list to rank: a query, its passages, optionally first-stage scores (a
    list reranker's input; zeros when left out) and an id echoed back."""

    query: str = Field(min_length=1)
    passages: list[str] = Field(min_length=1)
    first_stage: list[float] | None = None
    id: str | None = None


class TextRankRequest(BaseModel):
    """Several text lists (``lists``) or one (``query`` with ``passages``)."""

    lists: list[TextItems] | None = None
    query: str | None = None
    passages: list[str] | None = None
    first_stage: list[float] | None = None
    id: str | None = None


def _text_scorer(model: Any) -> Callable[[list[TextItems]], list[npt.NDArray[np.float64]]]:
    """Text lists -> scores of a text ranker, as ``rankwise text rerank`` computes them
    (passage vectors encoded per request for the models that score from them)."""
    import torch

    from rankwise.text.embeddings import EmbeddingStore
    from rankwise.text.lists import TextList, TextListCollator
    from rankwise.text.models import needs_passage_vectors

    def predict(lists: list[TextItems]) -> list[npt.NDArray[np.float64]]:
        documents: dict[str, str] = {}
        items = []
        for i, item in enumerate(lists):
            ids = [f"{i}:{j}" for j in range(len(item.passages))]
            documents.update(zip(ids, item.passages, strict=True))
            items.append(
                TextList(str(i), item.query, ids, [0.0] * len(ids), first_stage=item.first_stage)
            )
        store = (
            EmbeddingStore.build(model.encoder, documents) if needs_passage_vectors(model) else None
        )
        with torch.no_grad():
            scores = model.score_batch(TextListCollator(documents, store)(items))
        out = scores.float().cpu().numpy().astype(np.float64)
        return [out[i, : len(item.passages)] for i, item in enumerate(lists)]

    return predict


def _check_text(request: TextRankRequest, limits: ServiceLimits) -> list[TextItems]:
    if (request.lists is None) == (request.query is None):
        raise RequestError(422, ["body"], "give either 'lists' or 'query' with 'passages'")
    if request.lists is None:
        if not request.passages:
            raise RequestError(422, ["body", "passages"], "a query needs its passages")
        lists = [
            TextItems(
                query=request.query or "",
                passages=request.passages,
                first_stage=request.first_stage,
                id=request.id,
            )
        ]
        prefix: list[str | int] = ["body"]
    else:
        lists, prefix = request.lists, ["body", "lists"]
    if not lists or len(lists) > limits.max_lists:
        raise RequestError(422, prefix, f"{len(lists)} lists; give 1 to {limits.max_lists}")
    for i, item in enumerate(lists):
        where = [*prefix, i] if request.lists is not None else prefix
        if len(item.passages) > limits.max_list_length:
            raise RequestError(
                422,
                [*where, "passages"],
                f"{len(item.passages)} passages; at most {limits.max_list_length} per list",
            )
        if item.first_stage is not None:
            if len(item.first_stage) != len(item.passages):
                raise RequestError(
                    422,
                    [*where, "first_stage"],
                    f"{len(item.first_stage)} first-stage scores for {len(item.passages)} passages",
                )
            if not all(math.isfinite(v) for v in item.first_stage):
                raise RequestError(422, [*where, "first_stage"], "a score is NaN or infinite")
    return lists


def _check(request: RankRequest, width: int | None, limits: ServiceLimits) -> list[ItemList]:
    if (request.lists is None) == (request.features is None):
        raise RequestError(422, ["body"], "give either 'lists' or 'features' (one list)")
    lists = (
        request.lists
        if request.lists is not None
        else [ItemList(features=request.features or [], id=request.id)]
    )
    prefix: list[str | int] = ["body", "lists"] if request.lists is not None else ["body"]
    if not lists:
        raise RequestError(422, prefix, "no list to rank")
    if len(lists) > limits.max_lists:
        raise RequestError(
            422, prefix, f"{len(lists)} lists in one request; at most {limits.max_lists}"
        )
    for i, item in enumerate(lists):
        where: list[str | int] = (
            [*prefix, i, "features"]
            if request.lists is not None
            else [
                "body",
                "features",
            ]
        )
        if len(item.features) > limits.max_list_length:
            raise RequestError(
                422,
                where,
                f"{len(item.features)} items; at most {limits.max_list_length} per list",
            )
        for j, row in enumerate(item.features):
            if width is not None and len(row) != width:
                raise RequestError(
                    422,
                    [*where, j],
                    f"{len(row)} features; the model takes {width}",
                )
            if not all(math.isfinite(v) for v in row):
                raise RequestError(422, [*where, j], "a feature is NaN or infinite")
    return lists


def create_app(checkpoint: str | Path, limits: ServiceLimits | None = None) -> FastAPI:
    """The service's ASGI app for ``checkpoint`` (a checkpoint file or run directory):
    feature-vector rankers (neural, ensemble, GBDT) take ``features``; text rankers
    (``data.text`` runs) take ``query`` and ``passages``.

    Raises:
        CheckpointError: not a rankwise model checkpoint, or a neural one without its
            feature width.
    """
    from rankwise.train.checkpoint import Checkpoint

    limits = limits or ServiceLimits()
    text = Checkpoint.load(checkpoint).kind == "text"
    width: int | None = None
    if text:
        from rankwise.train.predict import load_text_ranker

        ranker = load_text_ranker(checkpoint)
        scorer: Callable[[list[Any]], list[npt.NDArray[np.float64]]] = _text_scorer(ranker)
        name, kind = Path(checkpoint).resolve().name, "text"
    else:
        predictor = load_predictor(checkpoint)
        transform = predictor.transform
        width = transform.num_features if transform is not None else predictor.num_features
        if width is None and predictor.kind == "neural":
            raise CheckpointError(f"{checkpoint}: the checkpoint does not record its feature width")
        scorer = _feature_scorer(predictor)
        name, kind = predictor.run_name, predictor.kind
    metrics = ServiceMetrics()
    state: dict[str, _Batcher] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = _Batcher(scorer, limits, metrics)
        batcher.start()
        state["batcher"] = batcher
        yield
        await batcher.stop()

    app = FastAPI(title="rankwise", version="1", lifespan=lifespan)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_request_bytes:
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body"],
                            "msg": f"request body of {declared} bytes; at "
                            f"most {limits.max_request_bytes}",
                            "type": "too_large",
                        }
                    ]
                },
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def schema_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.requests[422] = metrics.requests.get(422, 0) + 1
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        metrics.requests[exc.status] = metrics.requests.get(exc.status, 0) + 1
        return JSONResponse(
            {"detail": [{"loc": exc.loc, "msg": exc.message, "type": "value_error"}]},
            status_code=exc.status,
        )

    async def respond(lists: list[Any], payload: list[Any], items: int) -> RankResponse:
        started = time.perf_counter()
        scores = await state["batcher"].score(payload)
        results = [
            RankResult(id=item.id, scores=s.tolist(), order=rank_order(s))
            for item, s in zip(lists, scores, strict=True)
        ]
        metrics.requests[200] = metrics.requests.get(200, 0) + 1
        metrics.lists += len(payload)
        metrics.documents += items
        metrics.latency.observe(time.perf_counter() - started)
        return RankResponse(model=name, results=results)

    if text:

        @app.post("/rank", response_model=RankResponse)
        async def rank_text(body: TextRankRequest) -> RankResponse:
            lists = _check_text(body, limits)
            return await respond(lists, lists, sum(len(x.passages) for x in lists))

    else:

        @app.post("/rank", response_model=RankResponse)
        async def rank(body: RankRequest) -> RankResponse:
            lists = _check(body, width, limits)
            arrays = [np.asarray(item.features, dtype=np.float32) for item in lists]
            return await respond(lists, arrays, sum(a.shape[0] for a in arrays))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": name, "kind": kind, "num_features": width}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> str:
        return metrics.prometheus()

    return app
