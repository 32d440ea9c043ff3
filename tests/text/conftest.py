"""A tiny randomly initialised BERT (built from a config here, saved to a local folder)
and a toy collection: text tests run in seconds without any download."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from rich.console import Console

from rankwise.runs.trec import TrecRun
from rankwise.text.collection import TextCollection
from rankwise.train.config import load_config
from rankwise.train.experiment import run_experiment

WORDS = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "on",
    "cat",
    "cats",
    "dog",
    "dogs",
    "bird",
    "fish",
    "sat",
    "mat",
    "bark",
    "fly",
    "swim",
    "water",
    "sky",
    "tree",
    "house",
    "red",
    "blue",
    "green",
    "big",
    "small",
    "fast",
    "slow",
    "wing",
    "lift",
    "flow",
    "heat",
    "wave",
    "air",
    "plane",
]


def build_tiny_bert(folder: Path, *, dropout: float = 0.1) -> Path:
    """A tiny randomly initialised BERT (seed 0) and its WordPiece tokenizer over
    ``WORDS``, saved to ``folder``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    ids = {token: i for i, token in enumerate(vocab)}
    core = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    core.normalizer = normalizers.BertNormalizer(lowercase=True)
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tokenizer = BertTokenizerFast(
        tokenizer_object=core,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    assert tokenizer.tokenize("the cat") == ["the", "cat"]
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def toy() -> TextCollection:
    docs = {
        "d1": "the cat sat on the mat",
        "d2": "a dog and a cat",
        "d3": "dogs bark in the house",
        "d4": "the bird can fly in the sky",
        "d5": "fish swim in blue water",
        "d6": "a big plane with a wing",
        "d7": "air flow and lift on a wing",
        "d8": "green tree by the house",
    }
    queries = {"q1": "cat on a mat", "q2": "dog bark", "q3": "wing lift", "q4": "fish water"}
    qrels = {
        "q1": {"d1": 2.0, "d2": 1.0},
        "q2": {"d3": 2.0, "d2": 1.0},
        "q3": {"d7": 2.0, "d6": 1.0},
        "q4": {"d5": 1.0},
    }
    return TextCollection("toy", docs, queries, qrels)


def run_of(rows: dict[str, list[tuple[str, float]]], tag: str = "r") -> TrecRun:
    import numpy as np

    q, d, s, r = [], [], [], []
    for qid, docs in rows.items():
        for rank, (doc, score) in enumerate(docs, start=1):
            q.append(qid)
            d.append(doc)
            s.append(score)
            r.append(rank)
    return TrecRun(np.array(q), np.array(d), np.array(s, dtype=float), np.array(r), tag)


@pytest.fixture(scope="session")
def text_checkpoints(data_dir, tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """Run directories of a bi-encoder, a cross-encoder and a list reranker on the tiny
    BERT, trained one epoch on Cranfield (the serving and export tests load them)."""
    root = tmp_path_factory.mktemp("text-runs")
    out = {}
    for name, params in {
        "bi_encoder": {},
        "cross_encoder": {"pooling": "mean"},
        "list_reranker": {"d_model": 16, "num_heads": 2},
    }.items():
        config = {
            "name": name,
            "output_dir": str(root / "runs"),
            "data": {
                "text": {"collection": str(data_dir / "cranfield"), "depth": 8, "list_size": 4},
                "batch_size": 16,
                "eval_batch_size": 16,
            },
            "model": {"name": name, "params": {**params, "path": str(tiny_model_dir)}},
            "loss": {"name": "softmax"},
            "optimizer": {"name": "adamw", "params": {"lr": 1e-3}},
            "training": {"epochs": 1, "progress": False, "early_stopping": None},
            "metrics": ["ndcg@10"],
        }
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        run_experiment(load_config(path), console=Console(quiet=True))
        out[name] = root / "runs" / name
    return out
