"""The reranking service on loopback: a real uvicorn server, real HTTP clients."""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import uvicorn

from rankwise.serving.service import ServiceLimits, create_app
from tests.serving.conftest import WIDTH
from tests.serving.test_export import _offline


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    def __init__(self, checkpoint: Path, limits: ServiceLimits) -> None:
        self.port = _free_port()
        config = uvicorn.Config(
            create_app(checkpoint, limits), host="127.0.0.1", port=self.port, log_level="error"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def call(self, method: str, path: str, body: bytes | str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = body.encode() if isinstance(body, str) else body
            headers = {"content-type": "application/json"} if data is not None else {}
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def rank(self, payload: dict) -> tuple[int, dict]:
        status, content = self.call("POST", "/rank", json.dumps(payload))
        return status, json.loads(content)


LIMITS = ServiceLimits(max_request_bytes=200_000, max_lists=8, max_list_length=150)


@pytest.fixture(scope="module", params=["context_aware", "lightgbm"])
def served(request, checkpoints):
    checkpoint = checkpoints[request.param]
    with _Server(checkpoint, LIMITS) as server:
        yield server, checkpoint


def _lists(seed: int, count: int, length: int = 100) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((length - i % 7, WIDTH)) * 10).astype(np.float32) for i in range(count)
    ]


def _assert_scores(results: list[dict], lists: list[np.ndarray], checkpoint: Path) -> None:
    for result, want in zip(results, _offline(checkpoint, lists), strict=True):
        got = np.asarray(result["scores"])
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        order = result["order"]
        assert sorted(order) == list(range(len(want)))
        assert all(got[a] >= got[b] for a, b in itertools.pairwise(order))


def test_health_and_a_ranked_request(served):
    server, checkpoint = served
    status, body = server.call("GET", "/health")
    assert status == 200 and json.loads(body)["num_features"] == WIDTH
    lists = _lists(0, 3)
    payload = {"lists": [{"id": f"q{i}", "features": x.tolist()} for i, x in enumerate(lists)]}
    status, answer = server.rank(payload)
    assert status == 200
    assert [r["id"] for r in answer["results"]] == ["q0", "q1", "q2"]
    _assert_scores(answer["results"], lists, checkpoint)
    status, one = server.rank({"features": lists[1].tolist()})  # a single list
    assert status == 200
    _assert_scores(one["results"], lists[1:2], checkpoint)


def test_bad_requests_get_4xx_naming_the_field(served):
    server, _ = served
    good = _lists(1, 2, 5)
    bad_width = [row[:-1] for row in good[1].tolist()]
    status, answer = server.rank(
        {"lists": [{"features": good[0].tolist()}, {"features": bad_width}]}
    )
    assert status == 422
    detail = answer["detail"][0]
    assert detail["loc"] == ["body", "lists", 1, "features", 0]
    assert f"{WIDTH - 1} features; the model takes {WIDTH}" in detail["msg"]
    status, answer = server.rank({"lists": [{"features": "x"}]})
    assert status == 422 and answer["detail"][0]["loc"][:3] == ["body", "lists", 0]
    nan_body = '{"features": [[NaN' + ", 1.0" * (WIDTH - 1) + "]]}"
    status, content = server.call("POST", "/rank", nan_body)
    assert status == 422 and b"NaN or infinite" in content
    status, answer = server.rank({"lists": [{"features": good[0].tolist()}] * 9})
    assert status == 422 and "at most 8" in answer["detail"][0]["msg"]
    status, answer = server.rank({"features": [[0.0] * WIDTH] * 151})
    assert status == 422 and "at most 150 per list" in answer["detail"][0]["msg"]
    status, content = server.call("POST", "/rank", "x" * 200_001)
    assert status == 413 and b"at most 200000" in content
    status, answer = server.rank({})
    assert status == 422 and "either 'lists' or 'features'" in answer["detail"][0]["msg"]


def test_concurrent_requests_are_micro_batched_and_all_correct(served):
    server, checkpoint = served
    requests = [_lists(100 + i, 2, 40) for i in range(32)]

    def send(lists: list[np.ndarray]) -> tuple[int, dict]:
        return server.rank({"lists": [{"features": x.tolist()} for x in lists]})

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(send, requests))
    assert all(status == 200 for status, _ in answers)
    for (_, answer), lists in zip(answers, requests, strict=True):
        _assert_scores(answer["results"], lists, checkpoint)
    status, text = server.call("GET", "/metrics")
    metrics = text.decode()
    assert status == 200 and 'rankwise_requests_total{status="200"}' in metrics
    # some model call scored more than one request's 2 lists
    sizes = {}
    for line in metrics.splitlines():
        if line.startswith("rankwise_batch_lists_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            sizes[bound] = int(line.rsplit(" ", 1)[1])
    assert sizes["2"] < sizes["+Inf"], metrics
    count = int(metrics.split("rankwise_request_seconds_count ")[1].split()[0])
    assert count >= 32
    assert math.isfinite(float(metrics.split("rankwise_request_seconds_sum ")[1].split()[0]))


def test_rankwise_serve_stops_gracefully_on_sigterm(checkpoints):
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "rankwise"),
            "serve",
            str(checkpoints["mlp"]),
            "--port",
            str(port),
            "--log-level",
            "info",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health")
                assert connection.getresponse().status == 200
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"rankwise serve did not start: {process.stderr.read()!r}")
                time.sleep(0.1)
        os.kill(process.pid, signal.SIGTERM)
        # uvicorn shuts the application down, then re-raises the signal it caught
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        log = process.stderr.read().decode()
        assert "Application shutdown complete" in log, log
    finally:
        if process.poll() is None:
            process.kill()
