"""``rankwise`` entry point: sub-commands are registered by their modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from rankwise._version import __version__
from rankwise.errors import RankwiseError, printable


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from rankwise.cli import (
        compare_cmd,
        data_cmd,
        demo,
        evaluate_cmd,
        export_cmd,
        fuse_cmd,
        predict_cmd,
        report_cmd,
        serve_cmd,
        text_cmd,
        train_cmd,
    )

    parser = argparse.ArgumentParser(prog="rankwise", description="Learning to rank for PyTorch.")
    parser.add_argument("--version", action="version", version=f"rankwise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo.register(commands)
    train_cmd.register(commands)
    evaluate_cmd.register(commands)
    predict_cmd.register(commands)
    export_cmd.register(commands)
    serve_cmd.register(commands)
    compare_cmd.register(commands)
    fuse_cmd.register(commands)
    report_cmd.register(commands)
    data_cmd.register(commands)
    text_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 bad input, 2 usage error).

    Errors from bad input (rankwise's own, a value error, an unreadable or unwritable
    path) are printed as one message without a traceback; the remedy an error suggests
    is written as this command's flags (``--nonfinite fill``), or as config keys for
    ``train``, whose options come from its config; control bytes are escaped.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True)
    try:
        status: int = args.handler(args)
    except (RankwiseError, OSError, ValueError) as exc:
        if isinstance(exc, RankwiseError):
            text = exc.message(getattr(args, "audience", "cli"))
        else:
            text = printable(str(exc))
        err.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
