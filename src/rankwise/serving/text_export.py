"""Exporting a trained text ranker to ONNX or TorchScript (``rankwise export`` of a text
checkpoint).

A tokenizer is not a tensor graph, so the export is three files side by side: the
graph (``model.onnx``), the tokenizer folder (``model.tokenizer/``, loadable with
``transformers.AutoTokenizer.from_pretrained``) and ``model.json``: what the graph is,
its inputs and outputs, and how to tokenize (``max_length``, ``query_max_length``,
pairs or single texts). The graph's token inputs are the tokenizer's padded batch:
``input_ids`` and ``attention_mask`` int64 ``[N, T]`` (and ``token_type_ids`` when the
tokenizer makes them), any ``N`` and ``T``.

What each text ranker exports:

- ``bi_encoder`` (and the pseudo-query bi-encoder): the encoder, tokens of single texts
  to vectors ``[N, D]`` (pooled, L2-normalised); a score is ``q . d / temperature``
  (``temperature`` in ``model.json``). With ``train_documents: false`` only the query
  encoder was trained and passages keep the base model's vectors (``model.json`` says
  so).
- ``cross_encoder``: tokens of ``(query, passage)`` pairs to scores ``[N]``.
- ``list_reranker``: query tokens ``[B, T]``, the candidates' cached passage vectors
  ``doc_vectors`` float32 ``[B, L, D]`` (made by the base encoder, as for ``rankwise text
  rerank``), ``first_stage`` scores float32 ``[B, L]`` and ``mask`` bool ``[B, L]`` to
  scores ``[B, L]`` (0 at padding).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.jit._trace import TracerWarning

from rankwise.errors import CheckpointError
from rankwise.text.encoders import TextEncoder, pool
from rankwise.text.models import BiEncoder, CrossEncoder, ListReranker

Format = Literal["onnx", "torchscript"]


class _TokensToStates(nn.Module):
    """The transformer of a :class:`TextEncoder` on token tensors: pooled states [N, H]."""

    def __init__(self, encoder: TextEncoder, normalize: bool) -> None:
        super().__init__()
        self.model = encoder.model
        self.pooling = encoder.pooling
        self.normalize = normalize

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor | None = None
    ) -> Tensor:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.model(**inputs).last_hidden_state
        vectors = pool(hidden, attention_mask, self.pooling)
        return nn.functional.normalize(vectors, dim=-1) if self.normalize else vectors


class EncoderGraph(nn.Module):
    """Bi-encoder export: ``(input_ids, attention_mask[, token_type_ids]) -> vectors``."""

    def __init__(self, ranker: BiEncoder) -> None:
        super().__init__()
        self.states = _TokensToStates(ranker.encoder, normalize=True)

    def forward(self, *tokens: Tensor) -> Tensor:
        out: Tensor = self.states(*tokens)
        return out


class CrossEncoderGraph(nn.Module):
    """Cross-encoder export: tokens of pairs ``-> scores [N]``."""

    def __init__(self, ranker: CrossEncoder) -> None:
        super().__init__()
        self.states = _TokensToStates(ranker.encoder, normalize=False)
        self.head = ranker.head

    def forward(self, *tokens: Tensor) -> Tensor:
        out: Tensor = self.head(self.states(*tokens)).squeeze(-1)
        return out


class ListRerankerGraph(nn.Module):
    """List reranker export: ``(query tokens..., doc_vectors, first_stage, mask) ->
    scores [B, L]``."""

    def __init__(self, ranker: ListReranker, num_token_inputs: int) -> None:
        super().__init__()
        self.states = _TokensToStates(ranker.encoder, normalize=True)
        self.ranker = ranker
        self.num_token_inputs = num_token_inputs

    def forward(self, *inputs: Tensor) -> Tensor:
        tokens = inputs[: self.num_token_inputs]
        doc_vectors, first_stage, mask = inputs[self.num_token_inputs :]
        q = self.states(*tokens)
        return self.ranker.score_vectors(q, doc_vectors, first_stage, mask)


def _token_names(encoder: TextEncoder) -> list[str]:
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in getattr(encoder.tokenizer, "model_input_names", []):
        names.append("token_type_ids")
    return names


def _example_tokens(encoder: TextEncoder, names: list[str], pairs: bool) -> list[Tensor]:
    texts = ["an example query", "a longer example passage with a few more words"]
    batch = encoder.tokens(texts, texts[::-1] if pairs else None)
    return [batch[n].cpu() for n in names]


def export_text_ranker(
    ranker: nn.Module, output: str | Path, *, format: Format = "onnx", opset: int = 18
) -> Path:
    """Write ``ranker`` (a trained bi-encoder, cross-encoder or list reranker, see the
    module docstring) to ``output``, its tokenizer to ``<stem>.tokenizer/`` and its
    description to ``<stem>.json`` beside it. Returns the graph's path.

    Raises:
        CheckpointError: a text ranker this module cannot export.
    """
    ranker = ranker.cpu().eval()
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    graph: nn.Module
    encoder: TextEncoder
    example: list[Tensor]
    outputs: list[str]
    extra: list[str]
    info: dict[str, Any] = {"model": getattr(ranker, "name", type(ranker).__name__)}
    if isinstance(ranker, BiEncoder):
        encoder = ranker.encoder
        names = _token_names(encoder)
        graph = EncoderGraph(ranker)
        example = _example_tokens(encoder, names, pairs=False)
        outputs, extra = ["vectors"], []
        info |= {
            "graph": "texts -> vectors [N, D]; score = q . d / temperature",
            "temperature": ranker.temperature,
            "query_max_length": ranker.query_max_length,
            "passages": "this encoder"
            if ranker.train_documents
            else "the base model's encoder (train_documents: false)",
            "tokenize": "single texts",
        }
    elif isinstance(ranker, CrossEncoder):
        encoder = ranker.encoder
        names = _token_names(encoder)
        graph = CrossEncoderGraph(ranker)
        example = _example_tokens(encoder, names, pairs=True)
        outputs, extra = ["scores"], []
        info |= {"graph": "(query, passage) pairs -> scores [N]", "tokenize": "pairs"}
    elif isinstance(ranker, ListReranker):
        encoder = ranker.encoder
        names = _token_names(encoder)
        graph = ListRerankerGraph(ranker, len(names))
        tokens = _example_tokens(encoder, names, pairs=False)
        lists, length = tokens[0].shape[0], 3
        mask = torch.tensor([[True, True, True], [True, True, False]])
        example = [
            *tokens,
            nn.functional.normalize(torch.randn(lists, length, encoder.dim), dim=-1),
            torch.randn(lists, length),
            mask,
        ]
        outputs, extra = ["scores"], ["doc_vectors", "first_stage", "mask"]
        info |= {
            "graph": "query tokens + cached passage vectors + first-stage scores -> scores",
            "temperature": ranker.temperature,
            "query_max_length": ranker.query_max_length,
            "passages": "the base model's encoder (cached doc_vectors)",
            "tokenize": "single texts (the queries)",
        }
    else:
        raise CheckpointError(
            f"a {type(ranker).__name__} cannot be exported "
            "(text rankers that export: bi_encoder, cross_encoder, list_reranker)"
        )
    inputs = [*names, *extra]
    info |= {
        "inputs": inputs,
        "outputs": outputs,
        "max_length": encoder.max_length,
        "format": format,
        "tokenizer": f"{target.stem}.tokenizer",
    }
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # the fused inference kernel of nn.TransformerEncoderLayer has no ONNX translation:
    # export the plain composition of its operations (the same function)
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        try:
            _write_graph(graph, example, names, extra, outputs, target, format, opset)
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
    encoder.tokenizer.save_pretrained(str(target.parent / f"{target.stem}.tokenizer"))
    (target.parent / f"{target.stem}.json").write_text(json.dumps(info, indent=2) + "\n")
    return target


def _write_graph(
    graph: nn.Module,
    example: list[Tensor],
    names: list[str],
    extra: list[str],
    outputs: list[str],
    target: Path,
    format: Format,
    opset: int,
) -> None:
    if format == "torchscript":
        traced = torch.jit.trace(graph, tuple(example), check_trace=False)  # type: ignore[no-untyped-call]
        traced.save(str(target))
        return
    if format != "onnx":
        raise ValueError(f"format must be 'onnx' or 'torchscript', got {format!r}")
    rows = torch.export.Dim("rows", min=1)
    tokens = torch.export.Dim("tokens", min=1)
    length = torch.export.Dim("list", min=1)
    shapes: list[dict[int, Any]] = [{0: rows, 1: tokens} for _ in names]
    shapes += [{0: rows, 1: length} for _ in extra]
    torch.onnx.export(
        graph,
        tuple(example),
        str(target),
        input_names=[*names, *extra],
        output_names=outputs,
        dynamic_shapes=(tuple(shapes),),  # forward(*inputs): one varargs entry
        opset_version=opset,
        dynamo=True,
    )
    import onnx

    onnx.checker.check_model(onnx.load(str(target)))
