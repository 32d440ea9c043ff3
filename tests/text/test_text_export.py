"""``rankwise export`` of text rankers: ONNX (through onnxruntime) and TorchScript give
the PyTorch model's vectors and scores to 1e-5, on batches of texts and lists of several
lengths, padded and unpadded; the tokenizer and description written beside the graph
are enough to use it."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from transformers import AutoTokenizer

from rankwise.cli.main import main
from rankwise.errors import CheckpointError
from rankwise.serving.text_export import export_text_ranker
from rankwise.train.predict import load_text_ranker

QUERIES = ["the cat", "a big blue plane in the sky", "fish swim"]
PASSAGES = [
    "the cat sat on the mat",
    "dogs bark",
    "a small red bird can fly over the green tree and the house on the water",
]


def _tolerance(reference: np.ndarray) -> float:
    return 1e-5 * max(1.0, float(np.abs(reference).max()))


def _exported(checkpoints, tmp_path, kind: str, fmt: str):
    suffix = "onnx" if fmt == "onnx" else "pt"
    out = tmp_path / f"{kind}.{suffix}"
    assert main(["export", str(checkpoints[kind]), "-o", str(out), "--format", fmt]) == 0
    info = json.loads((tmp_path / f"{kind}.json").read_text())
    # a client needs only the files beside the graph to tokenize
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / info["tokenizer"]))
    if fmt == "onnx":
        session = ort.InferenceSession(str(out))
        assert [i.name for i in session.get_inputs()] == info["inputs"]

        def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
            return session.run(None, feeds)[0]
    else:
        module = torch.jit.load(str(out))

        def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
            args = [torch.from_numpy(feeds[name]) for name in info["inputs"]]
            with torch.inference_mode():
                return module(*args).numpy()

    return info, tokenizer, run


def _tokens(tokenizer, info, texts, pairs=None, max_length=None) -> dict[str, np.ndarray]:
    batch = tokenizer(
        texts,
        pairs,
        padding=True,
        truncation=True,
        max_length=max_length or info["max_length"],
        return_tensors="np",
    )
    return {k: batch[k].astype(np.int64) for k in info["inputs"] if k in batch}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_exported_bi_encoder_gives_the_models_vectors(text_checkpoints, tmp_path, fmt):
    info, tokenizer, run = _exported(text_checkpoints, tmp_path, "bi_encoder", fmt)
    model = load_text_ranker(text_checkpoints["bi_encoder"])
    assert info["outputs"] == ["vectors"] and info["temperature"] == model.temperature
    for texts in (PASSAGES, PASSAGES[:1], QUERIES[::-1]):  # padded, unpadded, other length
        got = run(_tokens(tokenizer, info, texts))
        with torch.no_grad():
            want = model.encoder(texts).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=_tolerance(want))
    # the score a client computes from two exported vectors is the model's
    q = run(_tokens(tokenizer, info, QUERIES[:1], max_length=info["query_max_length"]))
    d = run(_tokens(tokenizer, info, PASSAGES))
    with torch.no_grad():
        want = (model.encode_queries(QUERIES[:1]) @ model.encoder(PASSAGES).T).numpy()
    np.testing.assert_allclose(q @ d.T, want, rtol=0, atol=_tolerance(want))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_exported_cross_encoder_gives_the_models_scores(text_checkpoints, tmp_path, fmt):
    info, tokenizer, run = _exported(text_checkpoints, tmp_path, "cross_encoder", fmt)
    model = load_text_ranker(text_checkpoints["cross_encoder"])
    assert info["tokenize"] == "pairs"
    for queries, passages in ((QUERIES, PASSAGES), (QUERIES[:1], PASSAGES[1:2])):
        got = run(_tokens(tokenizer, info, queries, passages))
        with torch.no_grad():
            want = model.score_pairs(list(zip(queries, passages, strict=True))).numpy()
        assert got.shape == (len(queries),)
        np.testing.assert_allclose(got, want, rtol=0, atol=_tolerance(want))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_exported_list_reranker_gives_the_models_list_scores(text_checkpoints, tmp_path, fmt):
    model = load_text_ranker(text_checkpoints["list_reranker"])
    # the head starts at zero; a random head makes the list Transformer's part visible
    torch.manual_seed(0)
    torch.nn.init.normal_(model.head.weight, std=0.5)
    out = tmp_path / ("lr.onnx" if fmt == "onnx" else "lr.pt")
    export_text_ranker(model, out, format=fmt)
    info = json.loads((tmp_path / "lr.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / info["tokenizer"]))
    assert info["inputs"][-3:] == ["doc_vectors", "first_stage", "mask"]
    generator = torch.Generator().manual_seed(1)
    for lists, length, lengths in ((3, 5, [5, 2, 1]), (1, 4, [4]), (2, 7, [7, 7])):
        queries = QUERIES[:lists]
        docs = torch.nn.functional.normalize(
            torch.randn(lists, length, model.encoder.dim, generator=generator), dim=-1
        )
        first = torch.randn(lists, length, generator=generator)
        mask = torch.arange(length)[None] < torch.tensor(lengths)[:, None]
        feeds = _tokens(tokenizer, info, queries, max_length=info["query_max_length"])
        feeds |= {"doc_vectors": docs.numpy(), "first_stage": first.numpy(), "mask": mask.numpy()}
        if fmt == "onnx":
            got = ort.InferenceSession(str(out)).run(None, feeds)[0]
        else:
            module = torch.jit.load(str(out))
            with torch.inference_mode():
                got = module(*[torch.from_numpy(feeds[n]) for n in info["inputs"]]).numpy()
        with torch.no_grad():
            q = model.encoder.hidden(model.encoder.tokens(queries))
            want = model.score_vectors(
                torch.nn.functional.normalize(q, dim=-1), docs, first, mask
            ).numpy()
        assert got.shape == (lists, length)
        np.testing.assert_allclose(got, want, rtol=0, atol=_tolerance(want))
        assert (got[~mask.numpy()] == 0).all()


def test_a_text_ranker_that_cannot_be_exported_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="text rankers that export"):
        export_text_ranker(torch.nn.Linear(2, 1), tmp_path / "x.onnx")
