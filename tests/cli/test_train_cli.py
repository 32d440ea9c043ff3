"""rankwise train / predict / evaluate --checkpoint / compare / report / demo, end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from rankwise.cli.main import main
from rankwise.data import load, make_synthetic, write_svmlight


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    base = {
        "output_dir": str(root / "runs"),
        "data": {
            "synthetic": {"num_queries": 80, "num_features": 12},
            "transform": [{"name": "standardize"}],
            "batch_size": 16,
        },
        "training": {"epochs": 2, "progress": False},
        "metrics": ["ndcg@5", "map"],
    }
    configs = {
        "mlp": {
            **base,
            "name": "mlp",
            "model": {"name": "mlp", "params": {"hidden": [16]}},
            "loss": {"name": "softmax"},
        },
        "ctx": {
            **base,
            "name": "ctx",
            "model": {
                "name": "context_aware",
                "params": {"d_model": 16, "num_layers": 1, "num_heads": 2, "ff_dim": 32},
            },
        },
        "gbdt": {
            **base,
            "name": "gbdt",
            "model": {"name": "lightgbm", "params": {"n_estimators": 20}},
        },
    }
    for name, config in configs.items():
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        assert main(["train", str(path)]) == 0
    data = make_synthetic(80, 12, seed=0)
    write_svmlight(data, root / "all.txt")
    return root


def test_run_directory_contents(runs):
    run = runs / "runs" / "ctx"
    for name in (
        "config.yaml",
        "versions.json",
        "metrics.csv",
        "metrics.jsonl",
        "test-metrics.json",
        "test-per-query.tsv",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
    ):
        assert (run / name).exists(), name
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    summary = json.loads((run / "test-metrics.json").read_text())
    assert set(summary["metrics"]) == {"ndcg@5", "map"}
    assert summary["conventions"]["ndcg@5"] == "ndcg@5 [gain=exp2, empty=zero, ties=average]"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["training"]["epochs"] == 2 and config["optimizer"]["name"] == "adam"
    assert "torch" in json.loads((run / "versions.json").read_text())


def test_existing_run_directory_is_not_overwritten(runs, capsys):
    assert main(["train", str(runs / "mlp.yaml")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_bad_config_fails_before_anything_runs(runs, capsys):
    assert main(["train", str(runs / "mlp.yaml"), "--set", "training.epoch=3"]) == 1
    err = capsys.readouterr().err
    assert "training.epoch: unknown key" in err and "did you mean 'epochs'" in err


@pytest.mark.parametrize("run", ["mlp", "ctx", "gbdt"])
def test_predict_scores_and_trec(runs, run, capsys):
    out = runs / f"{run}.scores"
    assert main(["predict", str(runs / "runs" / run), str(runs / "all.txt"), "-o", str(out)]) == 0
    scores = np.loadtxt(out)
    assert scores.shape == (load(runs / "all.txt").num_documents,)
    # the test split's scores reproduce the run's recorded test metrics
    trec = runs / f"{run}.trec"
    assert (
        main(
            [
                "predict",
                str(runs / "runs" / run),
                str(runs / "all.txt"),
                "--format",
                "trec",
                "-o",
                str(trec),
            ]
        )
        == 0
    )
    first = trec.read_text().splitlines()[0].split()
    assert len(first) == 6 and first[1] == "Q0" and first[3] == "1" and first[5] == run


def test_evaluate_checkpoint_matches_recorded_test_metrics(runs, capsys, tmp_path):
    from rankwise.train.build import build_data
    from rankwise.train.config import load_config

    config = load_config(runs / "ctx.yaml")
    test = build_data(config).splits.test
    write_svmlight(test, tmp_path / "test.txt")
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(tmp_path / "test.txt"),
                "--checkpoint",
                str(runs / "runs" / "ctx"),
                "-m",
                "ndcg@5",
                "--format",
                "json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    recorded = json.loads((runs / "runs" / "ctx" / "test-metrics.json").read_text())["metrics"][
        "ndcg@5"
    ]
    assert result["systems"]["ctx"]["ndcg@5"]["mean"] == pytest.approx(recorded, abs=1e-6)


def test_compare_and_report(runs, capsys, tmp_path):
    dirs = [str(runs / "runs" / n) for n in ("gbdt", "mlp", "ctx")]
    assert main(["compare", *dirs, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["baseline"] == "gbdt" and set(result["systems"]) == {"gbdt", "mlp", "ctx"}
    assert main(["compare", *dirs, "-m", "map"]) == 0
    assert "map [threshold=1, empty=zero, ties=average]" in capsys.readouterr().out
    report = tmp_path / "r.html"
    assert main(["report", *dirs, "-o", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") >= 3
    assert "training loss" in text and "ndcg@5 [gain=exp2, empty=zero, ties=average]" in text
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', ""), "no network"


def test_resume_from_cli(tmp_path):
    config = {
        "name": "r",
        "output_dir": str(tmp_path),
        "data": {"synthetic": {"num_queries": 60, "num_features": 10}},
        "model": {"name": "linear"},
        "loss": {"name": "softmax"},
        "training": {"epochs": 3, "progress": False},
    }
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--resume"]) == 1  # nothing to resume yet
    assert main(["train", str(path)]) == 0
    assert main(["train", str(path), "--resume"]) == 0  # finished: resumes to the end again
    assert main(["train", str(path), "--check"]) == 0


def test_demo_quick(tmp_path, capsys):
    report = tmp_path / "demo.html"
    assert main(["demo", "--quick", "--workdir", str(tmp_path / "w"), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "data pipeline (round trip checked)" in out
    assert (tmp_path / "w" / "synthetic.rwcache" / "meta.json").is_file()
    assert "lightgbm" in out and "context-neuralndcg" in out and "mlp-neuralndcg" in out
    assert report.exists() and "<svg" in report.read_text()


def test_seed_ensemble_run_predicts_with_every_member(tmp_path, capsys):
    config = {
        "name": "ens",
        "output_dir": str(tmp_path),
        "data": {"synthetic": {"num_queries": 60, "num_features": 10}},
        "model": {"name": "mlp", "params": {"hidden": [8]}},
        "loss": {"name": "softmax"},
        "training": {"epochs": 2, "progress": False, "ensemble": 3},
        "metrics": ["ndcg@5"],
    }
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 0
    run = tmp_path / "ens"
    assert sorted(p.name for p in (run / "members").iterdir()) == ["0", "1", "2"]
    from rankwise.train.build import build_data
    from rankwise.train.checkpoint import load_checkpoint
    from rankwise.train.config import load_config
    from rankwise.train.predict import load_predictor

    ckpt = load_checkpoint(run)
    assert ckpt["kind"] == "ensemble" and len(ckpt["members"]) == 3
    test = build_data(load_config(path)).splits.test
    predictor = load_predictor(run)
    scores = predictor.predict(test)
    # the ensemble is the mean of its members' standardized scores
    members = [load_predictor(run / "members" / str(k)).predict(test) for k in range(3)]
    expected = np.mean(
        [(m - mu) / sd for m, mu, sd in zip(members, ckpt["means"], ckpt["stds"], strict=True)],
        axis=0,
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    recorded = json.loads((run / "test-metrics.json").read_text())["metrics"]["ndcg@5"]
    from rankwise.metrics.evaluation import evaluate_scores

    assert evaluate_scores(test, scores, ["ndcg@5"]).means()["ndcg@5"] == pytest.approx(recorded)
