"""Config validation: every problem named by its key, before anything runs."""

from __future__ import annotations

import pytest
import yaml

from rankwise.train.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    dump_config,
    load_config,
    validate_config,
)

BASE = {
    "name": "t",
    "data": {"synthetic": {"num_queries": 50, "num_features": 10}},
    "model": {"name": "mlp", "params": {"hidden": [8]}},
    "loss": {"name": "lambda", "params": {"lambda_weights": "ndcg_loss2pp"}},
}


def with_(**changes):
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        raw = apply_overrides(raw, [f"{dotted.replace('__', '.')}={yaml.safe_dump(value).strip()}"])
    return raw


def test_valid_config_gets_defaults():
    config = validate_config(BASE)
    assert isinstance(config, RunConfig)
    assert config.training.epochs == 20 and config.optimizer.name == "adam"
    assert config.metrics == ["ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "map"]
    # the resolved config validates to itself
    assert validate_config(yaml.safe_load(dump_config(config))) == config


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {**BASE, "trainig": {}},
            r"trainig: unknown key \(did you mean 'training'\?\); allowed: name, seed",
        ),
        (with_(data__bach_size=8), r"data\.bach_size: unknown key \(did you mean 'batch_size'\?\)"),
        (
            with_(training__early_stopping__patiense=3),
            r"training\.early_stopping\.patiense: unknown key \(did you mean 'patience'\?\)",
        ),
        (
            with_(training__epochs="ten"),
            r"training\.epochs: Input should be a valid integer.*'ten'",
        ),
        (with_(training__amp="fp8"), r"training\.amp: Input should be 'none', 'bf16' or 'fp16'"),
        (
            with_(model__name="transformer"),
            r"model\.name: unknown model 'transformer'.*known: .*context_aware",
        ),
        (
            with_(model__params__hiden=[4]),
            r"model\.params: unknown parameter 'hiden' for model 'mlp' \(did you mean 'hidden'\?\)",
        ),
        (
            with_(loss__name="lamda"),
            r"loss\.name: unknown loss 'lamda' \(did you mean 'lambda'\?\)",
        ),
        (
            with_(loss__params__sigmaa=1.0),
            r"loss\.params: unknown parameter 'sigmaa'.*did you mean 'sigma'",
        ),
        (
            with_(optimizer__name="adamm"),
            r"optimizer\.name: unknown optimizer 'adamm' \(did you mean 'adam'\?\)",
        ),
        (
            with_(optimizer__params__learning_rate=0.1),
            r"optimizer\.params: unknown parameter 'learning_rate'",
        ),
        (
            with_(scheduler__name="cosine"),
            r"scheduler\.params: scheduler 'cosine' needs parameter\(s\) T_max",
        ),
        (with_(metrics=["ndcg@10", "nDCG@x"]), r"metrics"),
        (with_(data__letor={"root": "x"}), r"exactly one source"),
        (
            with_(data__transform=[{"name": "standardise"}]),
            r"data\.transform\[0\]\.name: unknown transform 'standardise' "
            r"\(did you mean 'standardize'\?\)",
        ),
        (with_(device="gpu"), r"device: device must be"),
    ],
)
def test_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(raw)


def test_overrides_parse_yaml_and_create_nesting():
    raw = apply_overrides(
        BASE,
        ["training.epochs=5", "metrics=[map, ndcg@5]", "model.params.dropout=0.3", "seed=7"],
    )
    config = validate_config(raw)
    assert config.training.epochs == 5 and config.seed == 7
    assert config.metrics == ["map", "ndcg@5"]
    assert config.model.params["dropout"] == 0.3
    assert BASE["model"]["params"] == {"hidden": [8]}, "the input is not modified"
    # a section the file leaves at its default is overridden on top of the default
    tuned = validate_config(apply_overrides(BASE, ["optimizer.params.lr=0.05"]))
    assert tuned.optimizer.name == "adam" and tuned.optimizer.params == {"lr": 0.05}
    patient = validate_config(apply_overrides(BASE, ["training.early_stopping.patience=9"]))
    assert patient.training.early_stopping.patience == 9 and patient.training.epochs == 20
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(BASE, ["training.epochs"])
    with pytest.raises(ConfigError, match="name is not a mapping"):
        apply_overrides(BASE, ["name.x=1"])


def test_load_config_file_and_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "seed": 3}))
    assert load_config(path).seed == 3
    assert load_config(path, ["seed=4"]).seed == 4
    (tmp_path / "bad.yaml").write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_every_shipped_config_is_valid():
    from pathlib import Path

    configs = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
    assert configs, "configs/ holds example configs"
    for path in configs:
        load_config(path)


def _bench_config(system: str, fold: int, root: str):
    """``benchmarks/bench_letor.py``'s config of ``system`` (imported from the script)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_letor.py"
    spec = importlib.util.spec_from_file_location("bench_letor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.config_for(system, Path(root), fold, Path("runs"), 0, [])


def test_the_shipped_letor_configs_are_the_benchmark_validated_systems():
    """A user running configs/ trains exactly what the 5-fold benchmark validated."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[2] / "configs"
    pairs = {
        "mq2008-context-listnet-pld.yaml": "context-listnet-pld",
        "mq2008-context-listnet.yaml": "context-listnet",
        "mq2008-context-neuralndcg.yaml": "context-neuralndcg",
        "mq2008-lightgbm.yaml": "lightgbm-lambdarank",
        "mq2008-catboost.yaml": "catboost-yetirank",
        "ohsumed-context-listnet.yaml": "context-listnet",
    }
    for name, system in pairs.items():
        shipped = load_config(configs / name)
        bench = _bench_config(system, 1, shipped.data.letor.root)
        for part in ("model", "loss", "optimizer", "scheduler"):
            ours, theirs = getattr(shipped, part), getattr(bench, part)
            if part == "model" and shipped.model.name in ("lightgbm", "catboost"):
                # the trees: same objective; the rest are the adapters' defaults
                assert ours.name == theirs.name
                assert ours.params["objective"] == theirs.params["objective"]
                continue
            assert ours == theirs, (name, part)
        if shipped.model.name not in ("lightgbm", "catboost"):
            assert shipped.data.batch_size == bench.data.batch_size, name
            assert shipped.data.transform == bench.data.transform, name
            t, b = shipped.training, bench.training
            assert (t.epochs, t.grad_clip, t.early_stopping, t.distill) == (
                b.epochs,
                b.grad_clip,
                b.early_stopping,
                b.distill,
            ), name
