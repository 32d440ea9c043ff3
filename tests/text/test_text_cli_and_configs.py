"""``rankwise text`` commands and text configs for ``rankwise train``, end to end, with a
tiny model on the real Cranfield files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rankwise.cli.main import main
from rankwise.runs.trec import read_trec_run


@pytest.fixture(scope="module")
def cranfield(data_dir) -> Path:
    return data_dir / "cranfield"


def test_index_search_evaluate(cranfield, tmp_path, capsys, tiny_model_dir):
    idx = tmp_path / "idx"
    assert (
        main(
            [
                "text",
                "index",
                str(cranfield),
                "-o",
                str(idx),
                "--dense",
                "--model",
                str(tiny_model_dir),
            ]
        )
        == 0
    )
    assert (idx / "bm25" / "rankwise-bm25.json").is_file() and (
        idx / "vectors" / "vectors.npy"
    ).is_file()
    run = tmp_path / "bm25.run"
    assert main(["text", "search", str(idx), str(cranfield), "-o", str(run), "-k", "50"]) == 0
    err = capsys.readouterr().err
    assert "bm25: NDCG@10 0.3" in err and "trec_eval ndcg_cut.10" in err
    assert len(read_trec_run(run).queries()) == 225
    dense = tmp_path / "dense.run"
    assert (
        main(["text", "search", str(idx), str(cranfield), "-o", str(dense), "--dense", "-k", "20"])
        == 0
    )
    assert len(read_trec_run(dense)) == 225 * 20
    # the runs are what rankwise evaluate reads
    qrels = tmp_path / "qrels"
    from rankwise.runs.trec import write_qrels
    from rankwise.text.collection import load_cranfield

    write_qrels(load_cranfield(cranfield).qrels, qrels)
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(run),
                "--qrels",
                str(qrels),
                "-m",
                "ndcg@10[gain=linear,ties=stable]",
            ]
        )
        == 0
    )


def test_rerank_a_run_with_a_bi_encoder_folder(cranfield, tmp_path, capsys, tiny_model_dir):
    first = tmp_path / "bm25.run"
    idx = tmp_path / "idx"
    main(["text", "index", str(cranfield), "-o", str(idx)])
    main(["text", "search", str(idx), str(cranfield), "-o", str(first), "-k", "10"])
    out = tmp_path / "reranked.run"
    assert (
        main(
            [
                "text",
                "rerank",
                str(cranfield),
                "--run",
                str(first),
                "-o",
                str(out),
                "--model",
                str(tiny_model_dir),
                "--cache",
                str(tmp_path / "vec"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "reranked 2,250 candidates of 225 queries" in err and "passages/s" in err
    a, b = read_trec_run(first), read_trec_run(out)
    pairs = sorted(zip(a.qids, a.docids, strict=True))
    assert pairs == sorted(zip(b.qids, b.docids, strict=True))  # the same candidates


def _config(tmp_path, cranfield, model, **text) -> str:
    config = {
        "name": "text-run",
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "text": {"collection": str(cranfield), "depth": 8, "list_size": 4, **text},
            "batch_size": 16,
            "eval_batch_size": 16,
        },
        "model": model,
        "loss": {"name": "softmax"},
        "optimizer": {"name": "adamw", "params": {"lr": 1e-3}},
        "training": {"epochs": 2, "progress": False, "tensorboard": False, "early_stopping": None},
        "metrics": ["ndcg@10[gain=linear,ties=stable]", "map"],
    }
    path = tmp_path / "text.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize(
    ("model", "text"),
    [
        ({"name": "cross_encoder", "params": {"pooling": "mean"}}, {"curriculum_epochs": 1}),
        ({"name": "bi_encoder", "params": {"train_documents": False}}, {"test_fold": 3}),
        ({"name": "list_reranker", "params": {"d_model": 16, "num_heads": 2}}, {"positives": 2}),
    ],
)
def test_train_a_text_config_writes_a_run_directory(
    cranfield, tmp_path, capsys, tiny_model_dir, model, text
):
    model = {"name": model["name"], "params": {**model["params"], "path": str(tiny_model_dir)}}
    path = _config(tmp_path, cranfield, model, **text)
    assert main(["train", path, "--check"]) == 0
    assert "text model" in capsys.readouterr().out
    assert main(["train", path]) == 0
    run_dir = tmp_path / "runs" / "text-run"
    for name in (
        "config.yaml",
        "metrics.csv",
        "checkpoints/best.pt",
        "test-metrics.json",
        "test-run.trec",
    ):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "test-metrics.json").read_text())
    assert 0 <= metrics["metrics"]["ndcg@10[gain=linear,ties=stable]"] <= 1
    run = read_trec_run(run_dir / "test-run.trec")
    assert len(run.queries()) == 45  # one fold of Cranfield's 225 queries
    # the trained model reranks from the CLI
    first = run_dir / "test-first-stage.trec"
    out = tmp_path / "again.run"
    assert (
        main(
            [
                "text",
                "rerank",
                str(cranfield),
                "--run",
                str(first),
                "-o",
                str(out),
                "--model",
                str(run_dir),
            ]
        )
        == 0
    )
    again = read_trec_run(out)
    # the same scores (up to the float noise of another batch padding)
    score = {(q, d): s for q, d, s in zip(run.qids, run.docids, run.scores, strict=True)}
    assert len(again) == len(run)
    for q, d, s in zip(again.qids, again.docids, again.scores, strict=True):
        assert abs(score[(q, d)] - s) < 1e-4 * max(1.0, abs(s))
    # a text checkpoint is not a feature-vector predictor
    assert main(["predict", str(run_dir), str(first)]) == 1
    assert "rankwise text rerank --model" in " ".join(capsys.readouterr().err.split())


def test_text_config_errors(cranfield, tmp_path, capsys, tiny_model_dir):
    model = {"name": "bi_encoder", "params": {"path": str(tiny_model_dir)}}
    config = yaml.safe_load(Path(_config(tmp_path, cranfield, model)).read_text())
    config["data"] = {"synthetic": {"num_queries": 10}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "bad.yaml")]) == 1
    assert "is a text ranker: give data.text" in capsys.readouterr().err
    config = yaml.safe_load(
        Path(_config(tmp_path, cranfield, model, folds="nowhere.json")).read_text()
    )
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "bad.yaml")]) == 1
    assert "neither stored" in capsys.readouterr().err


def test_robustness_report_from_the_cli(cranfield, tmp_path, capsys, tiny_model_dir):
    idx, first = tmp_path / "idx", tmp_path / "bm25.run"
    main(["text", "index", str(cranfield), "-o", str(idx)])
    main(["text", "search", str(idx), str(cranfield), "-o", str(first), "-k", "5"])
    capsys.readouterr()
    out = tmp_path / "robust.json"
    assert (
        main(
            [
                "text",
                "robustness",
                str(cranfield),
                "--run",
                str(first),
                "--model",
                str(tiny_model_dir),
                "--depth",
                "5",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "| query: typos |" in table and "| document: truncation |" in table
    report = json.loads(out.read_text())
    assert report["queries"] == 225 and set(report["perturbations"]) >= {"query: word_order"}
