"""Errors a new user meets in the CLI: one line naming the file and line, flags rather
than Python keywords, no raw control bytes, no 0.0000 for an empty run (issue 13, §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankwise.cli.main import main
from rankwise.data import make_synthetic, write_svmlight
from rankwise.errors import DataFormatError, ParseError, printable
from rankwise.runs.trec import read_qrels, read_trec_run


@pytest.fixture
def qrels(tmp_path: Path) -> Path:
    path = tmp_path / "qrels.txt"
    path.write_text("1 0 d1 1\n1 0 d2 0\n2 0 d3 2\n")
    return path


def test_nan_relevance_in_qrels_names_the_file_and_line(tmp_path: Path, capsys):
    path = tmp_path / "bad-qrels.txt"
    path.write_text("1 0 d1 1\n1 0 d2 nan\n")
    with pytest.raises(ParseError, match="not finite") as err:
        read_qrels(path)
    assert err.value.line == 2
    run = tmp_path / "run.txt"
    run.write_text("1 Q0 d1 1 2.0 t\n")
    assert main(["evaluate", "--run", str(run), "--qrels", str(path)]) == 1
    assert "bad-qrels.txt, line 2" in capsys.readouterr().err


def test_an_empty_run_file_is_an_error_not_zero(tmp_path: Path, qrels: Path, capsys):
    run = tmp_path / "empty.run"
    run.write_text("# nothing retrieved\n\n")
    with pytest.raises(DataFormatError, match="holds no run line"):
        read_trec_run(run)
    assert main(["evaluate", "--run", str(run), "--qrels", str(qrels)]) == 1
    err = capsys.readouterr().err
    assert "empty.run" in err and "no run line" in err
    (tmp_path / "none.qrels").write_text("")
    with pytest.raises(DataFormatError, match="no judgement"):
        read_qrels(tmp_path / "none.qrels")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.txt"
    write_svmlight(make_synthetic(3, num_features=8, seed=0), path)
    return path


def test_a_bad_scores_file_names_the_file_and_line(tmp_path: Path, data: Path, capsys):
    n = make_synthetic(3, num_features=8, seed=0).num_documents
    scores = tmp_path / "scores.txt"
    scores.write_text("0.5\n" * 3 + "high\n" + "0.1\n" * (n - 4))
    assert main(["evaluate", "--data", str(data), "--scores", str(scores)]) == 1
    err = capsys.readouterr().err
    assert "scores.txt, line 4" in err and "one number" in err
    scores.write_text("0.5\n" * (n - 1))
    assert main(["evaluate", "--data", str(data), "--scores", str(scores)]) == 1
    assert f"{n - 1} scores for the {n} documents" in capsys.readouterr().err
    scores.write_text("0.5\n" * (n - 1) + "inf\n")
    assert main(["evaluate", "--data", str(data), "--scores", str(scores)]) == 1
    assert f"line {n}: score 'inf' is not finite" in capsys.readouterr().err


def test_messages_name_flags_not_python_keywords(tmp_path: Path, capsys):
    path = tmp_path / "nan.txt"
    path.write_bytes(b"1 qid:1 1:nan\n")
    for command in (
        ["data", "stats", str(path)],
        ["data", "convert", str(path), str(tmp_path / "o.parquet")],
    ):
        assert main(command) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "use --nonfinite fill and --fill-value VALUE" in err
        assert "nonfinite='fill'" not in err
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"# only a comment\n")
    assert main(["data", "stats", str(empty)]) == 1
    assert "--allow-empty" in capsys.readouterr().err
    assert main(["data", "stats", str(empty), "--allow-empty", "--json"]) == 0
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"1 qid:1 1:1\n0 qid:2 1:1\n1 qid:1 1:2\n")
    assert main(["data", "stats", str(mixed)]) == 1
    assert "--noncontiguous group" in capsys.readouterr().err


def test_control_bytes_in_bad_input_are_escaped(tmp_path: Path, capsys):
    path = tmp_path / "garbage.txt"
    path.write_bytes(b"1 qid:1 1:\x1b[31mred\x07\x1b]0;title\x07\n")
    assert main(["data", "stats", str(path)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[31mred" in err
    run = tmp_path / "garbage.run"
    run.write_bytes(b"1 Q0 d\x1b[2J 1 x t\n")
    assert main(["evaluate", "--run", str(run), "--qrels", str(run)]) == 1
    assert "\x1b" not in capsys.readouterr().err


def test_printable_keeps_tabs_newlines_and_text():
    assert printable("a\tb\nc é") == "a\tb\nc é"
    assert printable("\x00\x9b") == "\\x00\\x9b"
