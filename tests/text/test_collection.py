"""Readers of text collections: formats, file:line errors, the real collections."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rankwise.errors import DataFormatError, ParseError
from rankwise.text.collection import (
    TextCollection,
    load_collection,
    load_cranfield,
    load_dl19,
    load_vaswani,
    read_beir,
    read_first_stage_json,
    read_jsonl_corpus,
    read_smart,
    read_trec_documents,
    read_trec_topics,
    read_tsv_corpus,
)


def test_trec_topics_with_and_without_closing_tags(tmp_path: Path):
    path = tmp_path / "topics.txt"
    path.write_text(
        "<top>\n<num> Number: 401\n<title> foreign minorities, germany\n\n<desc> Description:\n"
        "What language?\n</top>\n\n"
        "<top>\n<num>2</num><title>\nMICROWAVE   TECHNIQUES\n</title>\n</top>\n"
    )
    assert read_trec_topics(path) == {
        "401": "foreign minorities, germany",
        "2": "MICROWAVE TECHNIQUES",
    }
    with pytest.raises(ParseError, match="has no <desc>") as err:
        read_trec_topics(path, field="desc")
    assert err.value.line == 9


def test_tsv_topics_and_their_errors(tmp_path: Path):
    path = tmp_path / "q.tsv"
    path.write_text("156493\tdo goldfish grow\n1110199\twhat is wifi\n")
    assert read_trec_topics(path) == {"156493": "do goldfish grow", "1110199": "what is wifi"}
    path.write_text("1\tone\n2 two\n")
    with pytest.raises(ParseError, match="expected 'query id<TAB>text'") as err:
        read_trec_topics(path)
    assert err.value.line == 2
    path.write_text("1\tone\n1\tagain\n")
    with pytest.raises(ParseError, match="appears twice"):
        read_trec_topics(path)


def test_unterminated_topic_and_text_outside(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_text("<top>\n<num>1</num><title>a\n")
    with pytest.raises(ParseError, match="not closed") as err:
        read_trec_topics(path)
    assert err.value.line == 1
    path.write_text("<top><num>1</num><title>a</title></top>\nstray words\n")
    with pytest.raises(ParseError, match="outside a <top>") as err:
        read_trec_topics(path)
    assert err.value.line == 2


def test_trec_documents(tmp_path: Path):
    path = tmp_path / "docs.trec.gz"
    with gzip.open(path, "wt") as f:
        f.write(
            "<DOC>\n<DOCNO>7</DOCNO>\n<TEXT>hello\nworld</TEXT>\n</DOC>\n"
            "<DOC><DOCNO> 8 </DOCNO>x</DOC>\n"
        )
    assert read_trec_documents(path) == {"7": "hello world", "8": "x"}
    bad = tmp_path / "bad.trec"
    bad.write_text("<DOC>\n<DOCNO>1</DOCNO>a\n</DOC>\n<DOC>\nno number\n</DOC>\n")
    with pytest.raises(ParseError, match="without <DOCNO>") as err:
        read_trec_documents(bad)
    assert (err.value.line, err.value.path) == (4, str(bad))
    bad.write_text("<DOC>\n<DOCNO>1</DOCNO>a\n")
    with pytest.raises(ParseError, match="not closed"):
        read_trec_documents(bad)


def test_smart_records(tmp_path: Path):
    path = tmp_path / "c.all"
    path.write_bytes(b".I 1\r\n.T\r\ntitle one\r\n.W\r\nbody\r\n text\r\n.I 2\r\n.W\r\nsecond\r\n")
    assert read_smart(path) == {"1": {"T": "title one", "W": "body text"}, "2": {"W": "second"}}
    path.write_text("junk\n.I 1\n")
    with pytest.raises(ParseError, match=r"before the first \.I"):
        read_smart(path)
    path.write_text(".I 1\n.W\na\n.I 1\n.W\nb\n")
    with pytest.raises(ParseError, match="appears twice") as err:
        read_smart(path)
    assert err.value.line == 4


def test_tsv_and_jsonl_corpora_and_beir(tmp_path: Path):
    (tmp_path / "c.tsv").write_text("d1\ttitle\tbody\nd2\tonly\n")
    assert read_tsv_corpus(tmp_path / "c.tsv") == {"d1": "title body", "d2": "only"}
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "T", "text": "x"})
        + "\n"
        + json.dumps({"_id": "d2", "text": "y"})
        + "\n"
    )
    (root / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "x?"})
        + "\n"
        + json.dumps({"_id": "q9", "text": "unjudged"})
        + "\n"
    )
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    c = read_beir(root)
    assert c.documents == {"d1": "T x", "d2": "y"} and c.queries == {"q1": "x?"}
    assert c.qrels == {"q1": {"d1": 1.0}}
    assert load_collection(root).queries == c.queries
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n{not json}\n')
    with pytest.raises(ParseError, match="not a JSON object") as err:
        read_jsonl_corpus(root / "corpus.jsonl")
    assert err.value.line == 2


def test_first_stage_json(tmp_path: Path):
    entries = [
        {
            "query": "q one",
            "hits": [
                {"qid": 1, "docid": "a", "score": 2.5, "rank": 1, "content": "alpha"},
                {"qid": 1, "docid": "b", "score": 1.5, "rank": 2, "content": "beta"},
            ],
        },
    ]
    path = tmp_path / "fs.json"
    path.write_text(json.dumps(entries))
    queries, passages, run = read_first_stage_json(path)
    assert queries == {"1": "q one"} and passages == {"a": "alpha", "b": "beta"}
    assert run.docids.tolist() == ["a", "b"] and run.scores.tolist() == [2.5, 1.5]
    entries[0]["hits"][1]["docid"] = "a"
    path.write_text(json.dumps(entries))
    with pytest.raises(ParseError, match="listed twice"):
        read_first_stage_json(path)
    path.write_text("[1, 2")
    with pytest.raises(DataFormatError, match="not a JSON document"):
        read_first_stage_json(path)


def test_collection_rules():
    with pytest.raises(DataFormatError, match="has no text"):
        TextCollection("x", {"d": "t"}, {"q": "t"}, {"other": {"d": 1.0}})
    c = TextCollection("x", {"d": "t"}, {"q": "t", "r": "u"}, {"q": {"d": 1.0}})
    assert c.judged_queries() == ["q"] and c.subset(["r"]).qrels == {}
    with pytest.raises(KeyError):
        c.subset(["zz"])


def test_unknown_layout(tmp_path: Path):
    with pytest.raises(DataFormatError, match="not a known collection layout"):
        load_collection(tmp_path)


# ------------------------------------------------------------------ the real collections
def test_cranfield(data_dir: Path):
    c = load_cranfield(data_dir / "cranfield")
    assert (len(c.documents), len(c.queries), len(c.qrels)) == (1400, 225, 225)
    assert sum(len(v) for v in c.qrels.values()) == 1837
    # codes 1..4 become 4..1, the -1 artefact 0; one -1 per query
    values = [r for judged in c.qrels.values() for r in judged.values()]
    assert sorted(set(values)) == [0.0, 1.0, 2.0, 3.0, 4.0] and values.count(0.0) == 225
    assert c.queries["1"].startswith("what similarity laws must be obeyed")
    assert c.documents["1"].startswith("experimental investigation of the aerodynamics")


def test_vaswani_and_dl19(data_dir: Path):
    v = load_vaswani(data_dir / "vaswani-npl")
    assert (len(v.documents), len(v.queries), sum(len(j) for j in v.qrels.values())) == (
        11429,
        93,
        2083,
    )
    d = load_dl19(data_dir / "trec-dl-2019-passage-bm25top100")
    assert len(d.queries) == 43 and len(d.runs["bm25"]) == 4300
    assert sum(len(j) for j in d.qrels.values()) == 9260
    assert load_collection(data_dir / "trec-dl-2019-passage-bm25top100").name == "dl19"
