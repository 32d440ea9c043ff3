"""``rankwise serve CHECKPOINT``: the reranking service over HTTP (FastAPI on uvicorn).

    rankwise serve runs/mq2008/ --port 8080
    curl -s localhost:8080/rank -H 'content-type: application/json' \\
         -d '{"features": [[0.1, 0.2, ...], [0.3, 0.1, ...]]}'

Endpoints ``POST /rank``, ``GET /health``, ``GET /metrics`` (Prometheus) and the API
schema at ``/docs``; see :mod:`rankwise.serving.service`. It listens on loopback unless
``--host`` says otherwise. Ctrl-C or SIGTERM finishes the requests in flight and stops.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add the ``serve`` command to the CLI."""
    p = commands.add_parser(
        "serve",
        help="serve a trained ranker over HTTP",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--max-request-bytes", type=int, default=8 * 1024 * 1024)
    p.add_argument("--max-lists", type=int, default=256, help="lists per request")
    p.add_argument("--max-list-length", type=int, default=2000, help="items per list")
    p.add_argument("--max-batch-lists", type=int, default=512, help="lists per model call")
    p.add_argument(
        "--batch-wait-ms", type=float, default=2.0, help="how long a request waits for others"
    )
    p.add_argument("--log-level", default="info")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise serve`` (module docstring)."""
    import uvicorn

    from rankwise.serving.service import ServiceLimits, create_app

    limits = ServiceLimits(
        max_request_bytes=args.max_request_bytes,
        max_lists=args.max_lists,
        max_list_length=args.max_list_length,
        max_batch_lists=args.max_batch_lists,
        batch_wait_ms=args.batch_wait_ms,
    )
    app = create_app(args.checkpoint, limits)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
