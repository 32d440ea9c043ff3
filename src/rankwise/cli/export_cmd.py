"""``rankwise export CHECKPOINT -o FILE``: a trained neural ranker as ONNX or TorchScript.

    rankwise export runs/mq2008/ -o model.onnx            # ONNX (from the suffix)
    rankwise export runs/mq2008/ -o model.pt --format torchscript
    rankwise export runs/cranfield-ce/ -o ce.onnx         # a text ranker

A feature ranker's exported model takes raw features (``features`` float32 [batch, list,
F], ``mask`` bool [batch, list]) and returns ``scores`` [batch, list]: the run's feature
transform is part of the graph (:mod:`rankwise.serving.export`). A text ranker's takes
the tokenizer's tensors; its tokenizer (``ce.tokenizer/``) and a description of inputs
and outputs (``ce.json``) are written beside it (:mod:`rankwise.serving.text_export`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add the ``export`` command to the CLI."""
    p = commands.add_parser(
        "export",
        help="export a trained neural or text ranker to ONNX or TorchScript",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.add_argument(
        "--format",
        choices=["onnx", "torchscript"],
        default=None,
        help="default: onnx for a .onnx file, else torchscript",
    )
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise export`` (module docstring)."""
    from rankwise.serving.export import Format, export_model

    output = Path(args.output)
    fmt: Format = args.format or ("onnx" if output.suffix.lower() == ".onnx" else "torchscript")
    path = export_model(args.checkpoint, output, format=fmt, opset=args.opset)
    print(f"wrote {path} ({fmt})")
    return 0
