"""The demo's point, as a test: on the embedded data, whose relevance has a list-context
effect (``rankwise.data.synthetic``), the context-aware ranker is significantly above a
per-item scorer trained to convergence and above LightGBM."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from rankwise.metrics.significance import paired_t_test
from rankwise.report.demo import DemoOptions, demo_configs
from rankwise.train.experiment import run_experiment
from rankwise.train.rundir import load_run


@pytest.mark.slow
def test_context_aware_ranker_beats_per_item_scorers_on_the_demo_data(tmp_path):
    # fewer queries than the demo's 1500 (CI time); the same configs otherwise
    configs = demo_configs(DemoOptions(queries=1000, epochs=40), tmp_path)
    summaries = {c.name: run_experiment(c, console=Console(quiet=True)) for c in configs}
    mlp = next(c for c in configs if c.model.name == "mlp")
    assert mlp.training.early_stopping is not None
    patience = mlp.training.early_stopping.patience
    # trained to convergence: early stopping ended the per-item scorer's run before the
    # epoch budget, after `patience` epochs without a better validation NDCG@10
    best_epoch = summaries[mlp.name].best_epoch
    assert best_epoch is not None and best_epoch + patience < mlp.training.epochs

    values = {}
    for c in configs:
        run = load_run(c.run_dir)
        order = np.argsort(run.test.qids)
        values[c.model.name] = run.test.per_query["ndcg@10"][order]
    context = values["context_aware"]
    for other in ("mlp", "lightgbm"):
        gap = float(context.mean() - values[other].mean())
        test = paired_t_test(context, values[other])
        assert gap > 0.05, (other, gap)
        assert test.p_value < 1e-3, (other, test)
