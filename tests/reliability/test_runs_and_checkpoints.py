"""Runs and checkpoints (issue 13, §2-3): resume never describes training that did not
happen, damaged checkpoints give an error instead of a crash, a failed run leaves
nothing behind, the run directory stays inside output_dir, --check builds the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from rankwise.cli.main import main
from rankwise.data import make_synthetic, write_svmlight
from rankwise.errors import CheckpointError, ConfigError
from rankwise.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from rankwise.train.config import validate_config
from rankwise.train.experiment import run_experiment


def _config(tmp_path: Path, **changes) -> dict:
    config = {
        "name": "r",
        "output_dir": str(tmp_path / "runs"),
        "data": {"synthetic": {"num_queries": 40, "num_features": 8}, "batch_size": 8},
        "model": {"name": "mlp", "params": {"hidden": [8]}},
        "loss": {"name": "softmax"},
        "training": {"epochs": 3, "progress": False, "tensorboard": False},
        "metrics": ["ndcg@5"],
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return config


def _yaml(tmp_path: Path, config: dict, name: str = "c.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _interrupted_run(tmp_path: Path, **changes) -> Path:
    config = validate_config(_config(tmp_path, **changes))
    run_experiment(config, stop_after=1)
    run = tmp_path / "runs" / "r"
    assert (run / "checkpoints" / "last.pt").exists() and not (run / "test-metrics.json").exists()
    return run


# ------------------------------------------------------------------ resume
@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("loss", {"name": "listnet_like_unknown"}, None),
        ("loss", {"name": "ranknet"}, "loss.name ('softmax' -> 'ranknet')"),
        ("seed", 7, "seed (0 -> 7)"),
        (
            "optimizer",
            {"name": "adam", "params": {"lr": 0.01}},
            "optimizer.params.lr (0.001 -> 0.01)",
        ),
    ],
)
def test_resume_with_a_changed_config_is_refused_naming_the_keys(
    tmp_path, capsys, key, value, named
):
    run = _interrupted_run(tmp_path)
    before = (run / "config.yaml").read_text()
    changed = _config(tmp_path)
    changed[key] = value
    assert main(["train", _yaml(tmp_path, changed), "--resume"]) == 1
    err = capsys.readouterr().err
    if named is None:  # an unknown loss is refused by validation already
        assert "unknown" in err
    else:
        assert "cannot resume" in err and named in " ".join(err.split())
    assert (run / "config.yaml").read_text() == before
    assert not (run / "test-metrics.json").exists()


def test_resume_accepts_and_records_a_longer_run(tmp_path, capsys):
    run = _interrupted_run(tmp_path)
    longer = _config(tmp_path, training__epochs=4)
    assert main(["train", _yaml(tmp_path, longer), "--resume"]) == 0
    assert "training.epochs changed from 3 to 4" in capsys.readouterr().out
    (entry,) = [json.loads(line) for line in (run / "resumes.jsonl").read_text().splitlines()]
    assert entry["changed"] == {"training.epochs": {"old": 3, "new": 4}}
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["epochs"] == 4
    history = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an Exception: no handler catches it)."""


def test_a_run_killed_between_its_log_row_and_its_checkpoint_resumes_with_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = validate_config(_config(tmp_path, training__epochs=4))
    run = tmp_path / "runs" / "r"
    real_save = Checkpoint.save
    saves = {"last": 0}

    def save(self, path):
        if Path(path).name == "last.pt":
            saves["last"] += 1
            if saves["last"] == 3:  # epoch 3's row is written, its checkpoint is not
                raise _Killed
        return real_save(self, path)

    monkeypatch.setattr(Checkpoint, "save", save)
    with pytest.raises(_Killed):
        run_experiment(config)
    monkeypatch.undo()
    logged = [
        json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()
    ]
    assert logged == [1, 2, 3]
    run_experiment(config, resume=True)
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in rows] == [1, 2, 3, 4]  # each epoch once


def test_resume_onto_data_of_another_width_names_the_shapes(tmp_path: Path):
    data = tmp_path / "train.txt"
    write_svmlight(make_synthetic(30, num_features=8, seed=0), data)
    base = {"data": {"train": str(data), "batch_size": 8}}
    config = _config(tmp_path)
    config["data"] = base["data"]
    run_experiment(validate_config(config), stop_after=1)
    write_svmlight(make_synthetic(30, num_features=12, seed=0), data)  # the file changed
    with pytest.raises(
        CheckpointError, match=r"\[8, 8\] in the checkpoint, \[8, 12\] in the model"
    ):
        run_experiment(validate_config(config), resume=True)


# ------------------------------------------------------------------ checkpoints
@pytest.fixture(scope="module")
def gbdt_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gbdt")
    config = _config(root, model={"name": "lightgbm", "params": {"n_estimators": 5}})
    run_experiment(validate_config(config))
    write_svmlight(make_synthetic(10, num_features=8, seed=4), root / "test.txt")
    return root


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rankwise.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_truncated_lightgbm_model_is_an_error_not_a_crash(gbdt_run: Path, tmp_path: Path):
    best = gbdt_run / "runs" / "r" / "checkpoints" / "best.pt"
    payload = load_checkpoint(best)
    payload.pop("format")
    text = payload["gbdt_state"]["model"]
    payload["gbdt_state"]["model"] = text[: len(text) // 2]
    damaged = tmp_path / "damaged.pt"
    save_checkpoint(damaged, payload)
    data = str(gbdt_run / "test.txt")
    for args in (
        ["predict", str(damaged), data],
        ["evaluate", "--data", data, "--checkpoint", str(damaged)],
    ):
        done = _cli(*args)
        assert done.returncode == 1, (done.returncode, done.stderr[-500:])  # 139 was a segfault
        assert "damaged.pt" in done.stderr and "does not match its hash" in done.stderr
    # the intact checkpoint still predicts
    assert _cli("predict", str(best), data).returncode == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (b"hello, not a model\n", "starts with b'hello, n")],
)
def test_an_empty_or_text_file_is_not_a_checkpoint(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.load(path)


def test_a_truncated_checkpoint_file_is_a_clear_error(gbdt_run: Path, tmp_path: Path):
    best = gbdt_run / "runs" / "r" / "checkpoints" / "best.pt"
    cut = tmp_path / "cut.pt"
    cut.write_bytes(best.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="damaged or foreign checkpoint"):
        Checkpoint.load(cut)


def test_predicting_data_of_another_width_names_both_widths(gbdt_run: Path, tmp_path: Path, capsys):
    data = tmp_path / "wide.txt"
    write_svmlight(make_synthetic(5, num_features=9, seed=0), data)
    assert main(["predict", str(gbdt_run / "runs" / "r"), str(data)]) == 1
    assert "9 features" in capsys.readouterr().err


def test_loading_weights_of_another_shape_names_them():
    from rankwise.train.checkpoint import load_weights

    net = torch.nn.Linear(4, 2)
    with pytest.raises(CheckpointError, match=r"weight is \[2, 3\] in the checkpoint, \[2, 4\]"):
        load_weights(net, torch.nn.Linear(3, 2).state_dict(), "x.pt")
    with pytest.raises(CheckpointError, match="missing from the checkpoint: bias"):
        load_weights(net, {"weight": torch.zeros(2, 4)}, "x.pt")


# ------------------------------------------------------------------ run directories
def test_a_run_that_fails_on_missing_data_leaves_nothing_behind(tmp_path: Path, capsys):
    config = _config(tmp_path)
    config["data"] = {"train": str(tmp_path / "missing.txt")}
    path = _yaml(tmp_path, config)
    assert main(["train", path]) == 1
    assert "missing.txt" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "r").exists()
    write_svmlight(make_synthetic(30, num_features=8, seed=0), tmp_path / "missing.txt")
    assert main(["train", path]) == 0  # not blocked by the failed attempt


def test_a_run_that_fails_in_its_first_epoch_leaves_nothing_behind(tmp_path: Path):
    # the ordinal loss needs per-level scores [B, L, levels]: the first batch fails
    config = _config(tmp_path, loss={"name": "ordinal"})
    with pytest.raises(ValueError, match="ordinal"):
        run_experiment(validate_config(config))
    assert not (tmp_path / "runs" / "r").exists()


def test_a_name_with_a_path_is_refused(tmp_path: Path, capsys):
    for name in ("../../x", "a/b", "..", "a\\b"):
        assert main(["train", _yaml(tmp_path, _config(tmp_path, name=name))]) == 1
        assert "must be one directory name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
    with pytest.raises(ConfigError, match="name"):
        validate_config(_config(tmp_path, name="../x"))


def test_an_unwritable_output_dir_is_one_clear_error(tmp_path: Path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = _config(tmp_path, output_dir=str(blocker / "runs"))
    assert main(["train", _yaml(tmp_path, config)]) == 1
    err = capsys.readouterr().err
    assert "cannot write the run directory" in err and "output_dir" in err
    assert "Traceback" not in err


def test_check_builds_the_model_and_the_loss(tmp_path: Path, capsys):
    bad_dropout = _config(
        tmp_path,
        model={"name": "context_aware", "params": {"d_model": 8, "num_heads": 2, "dropout": 2}},
    )
    assert main(["train", _yaml(tmp_path, bad_dropout), "--check"]) == 1
    assert "model: ValueError: dropout" in capsys.readouterr().err
    bad_heads = _config(
        tmp_path, model={"name": "context_aware", "params": {"d_model": 8, "num_heads": 3}}
    )
    assert main(["train", _yaml(tmp_path, bad_heads), "--check"]) == 1
    assert "divisible" in capsys.readouterr().err
    assert main(["train", _yaml(tmp_path, _config(tmp_path)), "--check"]) == 0
    out = capsys.readouterr().out
    assert "model mlp built for 8 features" in out and "optimizer adam: one step taken" in out
    assert not (tmp_path / "runs").exists()  # a check writes nothing


def test_train_writes_remedies_as_config_keys(tmp_path: Path, capsys):
    data = tmp_path / "nan.txt"
    data.write_bytes(b"1 qid:1 1:nan 2:1\n0 qid:1 1:1 2:0\n")
    config = _config(tmp_path)
    config["data"] = {"train": str(data)}
    assert main(["train", _yaml(tmp_path, config)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "set data.read_options.nonfinite=fill" in err and "nonfinite='fill'" not in err
