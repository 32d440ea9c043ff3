"""SVMlight loading speed and memory: rankwise vs scikit-learn, and the binary cache.

Writes a ~200 MB MSLR-shaped SVMlight file with rankwise's synthetic generator, then
measures, each in a fresh subprocess (so that peak memory is the parse's own):

- rankwise ``read_svmlight`` parse time, and ``sklearn.datasets.load_svmlight_file(...,
  query_id=True)`` on the same file; the ratio rankwise / sklearn (< 1: rankwise faster);
- the second load of the same file through the binary cache (memory-mapped) with the
  default checks (the whole source file and every cached array hashed), the same with
  ``cache_check="fast"`` (no array hashes, the first and last MiB of the source), and a
  checked cached load that reads every array into memory; ratio parse / cached;
- peak resident memory added by the parse (VmHWM after the parse minus RSS before it,
  the high-water mark reset after imports), against the size of the final arrays.

Each timing is the best of ``--repeats`` runs. Usage::

    .venv/bin/python benchmarks/bench_svmlight.py [--size-mb 200] [--repeats 3]

Needs the ``bench`` extra (scikit-learn): ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

RUNNER = textwrap.dedent(
    """
    import json, sys, time
    kind, path, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    import numpy as np
    if kind == "sklearn":
        from sklearn.datasets import load_svmlight_file
    else:
        from rankwise.data import read_svmlight

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS high-water mark to the current RSS
    before = status("VmRSS")
    t = time.perf_counter()
    if kind == "sklearn":
        X, y, qid = load_svmlight_file(path, query_id=True, dtype=np.float32)
        final = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes + y.nbytes + qid.nbytes
        docs = X.shape[0]
    else:
        cache = False if kind == "parse" else cache_dir
        check = "fast" if kind in ("cached-fast", "build-fast") else "full"
        data = read_svmlight(path, cache=cache, cache_check=check)
        if kind == "cached-eager":
            data = data.with_features(np.array(data.features))  # read every page into memory
        final = data.features.nbytes + data.labels.nbytes + data.query_offsets.nbytes
        for extra in (data.qids, data.docids, data.comments):
            final += extra.nbytes if extra is not None else 0
        docs = data.num_documents
        assert kind in ("parse", "build", "build-fast") or data.report.from_cache
    seconds = time.perf_counter() - t
    peak = status("VmHWM") - before
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "final_bytes": final, "docs": docs}))
    """
)


def run(kind: str, path: Path, cache_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, kind, str(path), str(cache_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def best(kind: str, path: Path, cache_dir: Path, repeats: int) -> dict[str, float]:
    runs = [run(kind, path, cache_dir) for _ in range(repeats)]
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default="benchmarks/_work")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    from rankwise.data import make_synthetic, write_svmlight

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"mslr-shaped-{int(args.size_mb)}mb.txt"
    if not path.exists():
        # ~1.58 kB per document at 136 features, ~59 documents per query.
        queries = max(1, int(args.size_mb * 1e6 / (1580 * 59)))
        t = time.perf_counter()
        data = make_synthetic(queries, seed=0)
        write_svmlight(data, path, progress=True)
        print(f"wrote {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    size_mb = path.stat().st_size / 1e6
    cache_dir = work / "cache"
    if cache_dir.exists():
        import shutil

        shutil.rmtree(cache_dir)
    run("build", path, cache_dir)  # builds the cache entry (a parse + save)
    run("build-fast", path, cache_dir)  # the fast mode's entry (its key differs)

    parse = best("parse", path, cache_dir, args.repeats)
    sklearn = best("sklearn", path, cache_dir, args.repeats)
    cached = best("cached", path, cache_dir, args.repeats)
    fast = best("cached-fast", path, cache_dir, args.repeats)
    eager = best("cached-eager", path, cache_dir, args.repeats)

    rows = [
        ("file", f"{size_mb:.0f} MB, {int(parse['docs']):,} documents, 136 features"),
        ("rankwise parse", f"{parse['seconds']:.2f} s ({size_mb / parse['seconds']:.0f} MB/s)"),
        ("sklearn load_svmlight_file", f"{sklearn['seconds']:.2f} s"),
        ("ratio rankwise / sklearn", f"{parse['seconds'] / sklearn['seconds']:.2f}"),
        ("cached reload, checks on (memory-mapped)", f"{cached['seconds'] * 1000:.1f} ms"),
        ("ratio parse / cached reload, checks on", f"{parse['seconds'] / cached['seconds']:.0f}x"),
        ("cached reload, cache_check='fast'", f"{fast['seconds'] * 1000:.1f} ms"),
        ("ratio parse / fast cached reload", f"{parse['seconds'] / fast['seconds']:.0f}x"),
        ("cached reload read into memory", f"{eager['seconds'] * 1000:.0f} ms"),
        ("ratio parse / eager cached reload", f"{parse['seconds'] / eager['seconds']:.0f}x"),
        ("final arrays", f"{parse['final_bytes'] / 1e6:.0f} MB"),
        (
            "peak memory added by the parse",
            f"{parse['peak_bytes'] / 1e6:.0f} MB "
            f"({parse['peak_bytes'] / parse['final_bytes']:.2f}x the final arrays)",
        ),
        (
            "sklearn peak memory",
            f"{sklearn['peak_bytes'] / 1e6:.0f} MB "
            f"({sklearn['peak_bytes'] / sklearn['final_bytes']:.2f}x its final CSR arrays)",
        ),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\n(best of {args.repeats}; {os.cpu_count()} CPUs; python {sys.version.split()[0]})")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"parse": parse, "sklearn": sklearn, "cached": cached, "fast": fast, "eager": eager}
            )
        )


if __name__ == "__main__":
    main()
