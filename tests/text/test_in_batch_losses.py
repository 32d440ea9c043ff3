"""Bi-encoders trained with embedding losses over in-batch negatives (InfoNCE, SigLIP):
the loss equals one computed here from the vectors, it trains through `rankwise train`,
and models without query and passage vectors are refused by name."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from rich.console import Console

from rankwise.losses import InfoNCELoss, SigLIPLoss
from rankwise.text.lists import TextListCollator, rerank_lists
from rankwise.text.models import BiEncoder, CrossEncoder
from rankwise.train.config import load_config
from rankwise.train.experiment import run_experiment
from rankwise.train.tasks import TextRankingTask


def _batch(toy):
    # q1: two relevant (d1 the best); q2: d3 relevant, d8 not; q3: no candidate (a row
    # without a positive, left out); q4: d5 relevant, d1 not
    lists = rerank_lists(
        toy.queries,
        {"q1": ["d2", "d1", "d4"], "q2": ["d8", "d3"], "q4": ["d5", "d1"]},
        toy.qrels,
    )
    return TextListCollator(toy.documents)(lists)


def test_info_nce_over_in_batch_and_first_stage_negatives(tiny_model_dir, toy):
    torch.manual_seed(0)
    model = BiEncoder(str(tiny_model_dir)).train()
    task = TextRankingTask(InfoNCELoss(temperature=0.1), ["ndcg@10"])
    batch = _batch(toy)
    torch.manual_seed(1)
    loss = task.loss(task.forward(model, batch), batch)
    # the same vectors (same dropout draws), the loss written out: keys are the three
    # positives (d1, d3, d5) and the candidates judged not relevant (d4, d8, d1 of q4);
    # q1's second relevant candidate d2 is neither positive nor negative
    torch.manual_seed(1)
    _, q, d = model.vectors(batch)
    assert batch.batch_size == 4 and not batch.mask[2].any()
    positives = [d[0, 1], d[1, 1], d[3, 0]]
    negatives = [d[0, 2], d[1, 0], d[3, 1]]
    keys = torch.nn.functional.normalize(torch.stack(positives + negatives), dim=-1)
    qn = torch.nn.functional.normalize(q[[0, 1, 3]], dim=-1)
    terms = []
    for i in range(3):
        logits = [float(qn[i] @ k) / 0.1 for k in keys]
        top = max(logits)
        log_z = top + math.log(sum(math.exp(v - top) for v in logits))
        terms.append(log_z - logits[i])
    assert float(loss) == pytest.approx(sum(terms) / 3, rel=1e-5)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("loss", [InfoNCELoss(temperature=0.05), SigLIPLoss()])
def test_in_batch_negatives_train_a_bi_encoder(tiny_model_dir, toy, loss):
    lists = rerank_lists(
        toy.queries,
        {"q1": ["d1", "d4"], "q2": ["d3", "d8"], "q3": ["d7", "d2"], "q4": ["d5", "d6"]},
        toy.qrels,
    )
    batch = TextListCollator(toy.documents)(lists)
    torch.manual_seed(0)
    model = BiEncoder(str(tiny_model_dir)).train()
    task = TextRankingTask(loss, ["ndcg@10"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    values = []
    for _ in range(30):
        value = task.loss(task.forward(model, batch), batch)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        values.append(float(value))
    assert values[-1] < 0.5 * values[0]


def test_siglip_pairs_each_query_with_its_positive(tiny_model_dir, toy):
    torch.manual_seed(0)
    model = BiEncoder(str(tiny_model_dir)).eval()  # eval: no dropout, one set of vectors
    task = TextRankingTask(SigLIPLoss(), ["ndcg@10"])
    batch = _batch(toy)
    model.train(False)
    _, q, d = model.vectors(batch)
    positives = torch.stack([d[0, 1], d[1, 1], d[3, 0]])
    want = SigLIPLoss()(q[[0, 1, 3]], positives)
    got = task._in_batch_loss(q, d, batch)
    assert float(got) == pytest.approx(float(want), rel=1e-6)


def test_an_in_batch_loss_refuses_a_cross_encoder(tiny_model_dir, toy):
    model = CrossEncoder(str(tiny_model_dir)).train()
    task = TextRankingTask(InfoNCELoss(), ["ndcg@10"])
    with pytest.raises(TypeError, match=r"trains bi-encoders .* not CrossEncoder"):
        task.forward(model, _batch(toy))


@pytest.mark.parametrize("loss", ["info_nce", "siglip"])
def test_rankwise_train_a_bi_encoder_with_in_batch_negatives(
    tmp_path, data_dir, tiny_model_dir, loss
):
    config = {
        "name": loss,
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "text": {"collection": str(data_dir / "cranfield"), "depth": 8, "list_size": 4},
            "batch_size": 8,
            "eval_batch_size": 16,
        },
        "model": {"name": "bi_encoder", "params": {"path": str(tiny_model_dir)}},
        "loss": {"name": loss, "params": {"temperature": 0.05} if loss == "info_nce" else {}},
        "optimizer": {"name": "adamw", "params": {"lr": 1e-3}},
        "training": {"epochs": 2, "progress": False, "early_stopping": None},
        "metrics": ["ndcg@10"],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    summary = run_experiment(load_config(path), console=Console(quiet=True))
    assert summary.test["ndcg@10"] > 0
    rows = [
        yaml.safe_load(line)
        for line in (tmp_path / "runs" / loss / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["epoch"] for r in rows] == [1, 2]
    # finite (learning is shown on the toy collection: the tiny BERT's vocabulary does
    # not cover Cranfield's, whose texts it sees as nearly all unknown tokens)
    assert all(math.isfinite(r["train_loss"]) for r in rows)
