"""``rankwise train CONFIG``: train and evaluate what a YAML config describes.

    rankwise train configs/mq2008.yaml
    rankwise train configs/mq2008.yaml --set training.epochs=5 --set model.params.d_model=64
    rankwise train configs/mq2008.yaml --resume      # continue an interrupted run

The config is validated before anything runs. The run directory
(``output_dir/name``) receives the resolved config, versions, per-epoch metrics (CSV,
JSON lines, TensorBoard), checkpoints and the test metrics (per query too).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def register(commands: Any) -> None:
    """Add the ``train`` command to the CLI."""
    p = commands.add_parser(
        "train",
        help="train and evaluate a ranker from a YAML config",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (dotted key, YAML value); repeatable",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue the run from its last checkpoint"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument(
        "--check",
        action="store_true",
        help="validate the config, build its model, loss and optimiser and take one step on "
        "a random batch, print the config; read no data, train nothing",
    )
    # remedies of errors are written as config keys (--set KEY=VALUE), not flags
    p.set_defaults(handler=run, audience="config")


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise train`` (module docstring)."""
    from rankwise.train.config import dump_config, load_config
    from rankwise.train.experiment import run_experiment

    config = load_config(args.config, args.set)
    # under torchrun only rank 0 speaks (every process trains; rank 0 writes the run)
    console = Console(quiet=os.environ.get("RANK", "0") != "0")
    if args.check:
        from rankwise.train.build import check_run

        console.print(dump_config(config), highlight=False, markup=False)
        for line in check_run(config):
            console.print(escape(line))
        console.print("config is valid")
        return 0
    summary = run_experiment(config, resume=args.resume, overwrite=args.overwrite, console=console)
    if summary.test:
        table = Table(title=f"{config.name}: test metrics", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("conventions")
        for key, value in summary.test.items():
            table.add_row(escape(key), f"{value:.4f}", escape(summary.conventions.get(key, "")))
        console.print(table)
    console.print(f"run directory: {summary.run_dir} ({summary.seconds:.1f} s)")
    return 0
