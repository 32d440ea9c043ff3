"""Text collections: documents, topics (queries) and relevance judgements, from the
formats people keep them in.

A :class:`TextCollection` holds ``documents`` (docid -> text), ``queries`` (qid -> text),
``qrels`` (:data:`~rankwise.runs.Qrels`) and, when the collection comes with them, given
first-stage ``runs`` (e.g. TREC DL 2019's BM25 top-100). Readers:

- :func:`read_trec_topics`: TREC topic files (``<top> <num> <title>``, with or without
  closing tags, ``Number:`` prefixes) or a TSV of ``qid<TAB>text`` (MS MARCO, TREC DL);
- :func:`read_trec_documents`: TREC ``<DOC> <DOCNO>`` files (tags inside the text are
  removed);
- :func:`read_smart`: SMART ``.I/.T/.A/.B/.W`` records (Cranfield);
- :func:`read_tsv_corpus` (``docid<TAB>text`` or ``docid<TAB>title<TAB>text``) and
  :func:`read_jsonl_corpus` / :func:`read_beir` (BEIR's ``corpus.jsonl``,
  ``queries.jsonl``, ``qrels/<split>.tsv``);
- :func:`read_first_stage_json`: a first stage's results with passage text (rank_llm's
  ``[{"query", "hits": [{"qid", "docid", "score", "rank", "content"}]}]``);
- collection loaders :func:`load_cranfield`, :func:`load_vaswani`, :func:`load_dl19`,
  and :func:`load_collection`, which recognises any of these layouts in a folder.

Every reader streams plain or compressed files and raises
:class:`~rankwise.errors.ParseError` naming the file and line of bad input (a record
without an id, an id twice, an unterminated record, a malformed line), never a silent
drop. Texts are kept as written, except that whitespace runs become one space.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rankwise.data._io import PathLike, open_binary_read
from rankwise.errors import DataFormatError, ParseError
from rankwise.runs.trec import Qrels, TrecRun, read_qrels, read_trec_run

_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^<>]{0,200}>")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass
class TextCollection:
    """Documents, queries, judgements and given first-stage runs of one collection.

    Example:
        >>> c = TextCollection("toy", {"d1": "a cat", "d2": "a dog"}, {"q1": "cat"},
        ...                    {"q1": {"d1": 1.0}})
        >>> c.judged_queries(), len(c)
        (['q1'], 2)
    """

    name: str
    documents: dict[str, str]
    queries: dict[str, str]
    qrels: Qrels = field(default_factory=dict)
    runs: dict[str, TrecRun] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for q, judged in self.qrels.items():
            if q not in self.queries:
                raise DataFormatError(f"{self.name}: qrels judge query {q!r}, which has no text")
            del judged  # documents judged but absent are allowed (they count as unretrieved)

    def __len__(self) -> int:
        return len(self.documents)

    def judged_queries(self) -> list[str]:
        """Queries with at least one judgement, in the order of :attr:`queries`."""
        return [q for q in self.queries if self.qrels.get(q)]

    def subset(self, qids: Iterable[str]) -> TextCollection:
        """The same documents with only the queries ``qids`` (and their qrels and runs)."""
        keep = list(qids)
        missing = [q for q in keep if q not in self.queries]
        if missing:
            raise KeyError(f"{self.name}: no query {missing[:5]}")
        wanted = set(keep)
        runs = {name: run.select(wanted) for name, run in self.runs.items()}
        return TextCollection(
            self.name,
            self.documents,
            {q: self.queries[q] for q in keep},
            {q: self.qrels[q] for q in keep if q in self.qrels},
            runs,
        )


# ----------------------------------------------------------------------------- lines
def _numbered_lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """Every line of a plain or compressed text file, numbered from 1, without its end."""
    stream, raw = open_binary_read(path)
    with stream, raw:
        for number, line in enumerate(stream, start=1):
            yield number, line.decode("utf-8", "backslashreplace").rstrip("\r\n")


def _add(target: dict[str, str], key: str, text: str, path: PathLike, line: int, what: str) -> None:
    if not key:
        raise ParseError(str(path), line, f"a {what} without an id")
    if key in target:
        raise ParseError(str(path), line, f"{what} id {key!r} appears twice")
    target[key] = _clean(text)


def _first_content(path: PathLike) -> str:
    for _, line in _numbered_lines(path):
        if line.strip():
            return line.strip()
    raise DataFormatError(f"{path}: the file is empty")


# ----------------------------------------------------------------------------- topics
_NUM = re.compile(r"<num>\s*(?:Number:)?\s*([^<\s]+)\s*(?:</num>)?", re.IGNORECASE)
_FIELD = re.compile(r"<(title|desc|narr)>", re.IGNORECASE)


def read_trec_topics(path: PathLike, *, field: str = "title") -> dict[str, str]:
    """Topics as ``qid -> text``: TREC ``<top>`` records (``field``: ``"title"``,
    ``"desc"`` or ``"narr"``; the ``Description:`` label is dropped) or, for a file that
    does not start with ``<``, TSV lines ``qid<TAB>text``.

    Raises:
        ParseError: a record without ``<num>`` or the field, an unterminated ``<top>``,
            a qid twice, a TSV line without a tab (naming the file and line).
    """
    if field not in ("title", "desc", "narr"):
        raise ValueError(f"field must be 'title', 'desc' or 'narr', got {field!r}")
    if not _first_content(path).startswith("<"):
        return _read_tsv_pairs(path, "query")
    topics: dict[str, str] = {}
    record: list[str] | None = None
    start = 0
    for number, line in _numbered_lines(path):
        lower = line.strip().lower()
        if lower.startswith("<top>"):
            if record is not None:
                raise ParseError(str(path), number, "<top> inside a <top> record", line)
            record, start = [], number
            line = line.strip()[5:]
        if record is None:
            if line.strip():
                raise ParseError(str(path), number, "text outside a <top> record", line)
            continue
        if "</top>" in lower:
            record.append(line[: lower.index("</top>")])
            qid, text = _topic_fields(" \n".join(record), field, path, start)
            _add(topics, qid, text, path, start, "topic")
            record = None
            continue
        record.append(line)
    if record is not None:
        raise ParseError(str(path), start, "a <top> record is not closed by </top>")
    if not topics:
        raise DataFormatError(f"{path}: no topic found")
    return topics


def _topic_fields(text: str, field: str, path: PathLike, line: int) -> tuple[str, str]:
    num = _NUM.search(text)
    if num is None:
        raise ParseError(str(path), line, "a <top> record without <num>")
    parts = _FIELD.split(text)
    # parts: [before, name1, body1, name2, body2, ...]
    bodies = {parts[i].lower(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    if field not in bodies:
        raise ParseError(str(path), line, f"topic {num.group(1)!r} has no <{field}>")
    body = re.sub(r"</?\w+>", " ", bodies[field])
    body = re.sub(r"^\s*(Topic|Description|Narrative):", "", body, flags=re.IGNORECASE)
    return num.group(1), body


def _read_tsv_pairs(path: PathLike, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in _numbered_lines(path):
        if not line.strip():
            continue
        if "\t" not in line:
            raise ParseError(str(path), number, f"expected '{what} id<TAB>text'", line)
        key, text = line.split("\t", 1)
        _add(out, key.strip(), text, path, number, what)
    if not out:
        raise DataFormatError(f"{path}: no {what} found")
    return out


# ----------------------------------------------------------------------------- documents
_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.IGNORECASE)


def read_trec_documents(path: PathLike) -> dict[str, str]:
    """Documents of a TREC ``<DOC>`` file as ``docid -> text`` (every tag but the
    ``<DOCNO>`` removed from the text).

    Raises:
        ParseError: a ``<DOC>`` without ``<DOCNO>``, an unterminated ``<DOC>``, a docid
            twice, text outside a record.
    """
    docs: dict[str, str] = {}
    record: list[str] | None = None
    start = 0
    for number, line in _numbered_lines(path):
        stripped = line.strip()
        upper = stripped.upper()
        if upper.startswith("<DOC>"):
            if record is not None:
                raise ParseError(str(path), number, "<DOC> inside a <DOC> record", line)
            record, start = [], number
            stripped = stripped[5:]
            upper = upper[5:]
        if record is None:
            if stripped:
                raise ParseError(str(path), number, "text outside a <DOC> record", line)
            continue
        if "</DOC>" in upper:
            record.append(stripped[: upper.index("</DOC>")])
            body = "\n".join(record)
            docno = _DOCNO.search(body)
            if docno is None:
                raise ParseError(str(path), start, "a <DOC> record without <DOCNO>")
            text = _TAG.sub(" ", body[: docno.start()] + " " + body[docno.end() :])
            _add(docs, docno.group(1), text, path, start, "document")
            record = None
            continue
        record.append(stripped)
    if record is not None:
        raise ParseError(str(path), start, "a <DOC> record is not closed by </DOC>")
    if not docs:
        raise DataFormatError(f"{path}: no document found")
    return docs


def read_smart(path: PathLike) -> dict[str, dict[str, str]]:
    """SMART records (``.I id`` then fields ``.T`` title, ``.A`` authors, ``.B``
    bibliography, ``.W`` text, ...) as ``id -> {field letter: text}``, in file order.

    Raises:
        ParseError: text before the first ``.I``, an ``.I`` without an id, an id twice.
    """
    records: dict[str, dict[str, str]] = {}
    current: dict[str, list[str]] | None = None
    key = ""
    field_name: str | None = None
    for number, line in _numbered_lines(path):
        if line.startswith(".I"):
            if current is not None:
                records[key] = {f: _clean(" ".join(v)) for f, v in current.items()}
            key = line[2:].strip()
            if not key:
                raise ParseError(str(path), number, "a .I record without an id", line)
            if key in records:
                raise ParseError(str(path), number, f"record id {key!r} appears twice", line)
            current, field_name = {}, None
            continue
        if current is None:
            if line.strip():
                raise ParseError(str(path), number, "text before the first .I record", line)
            continue
        if len(line) >= 2 and line[0] == "." and line[1].isalpha() and not line[2:].strip():
            field_name = line[1].upper()
            current.setdefault(field_name, [])
            continue
        if field_name is None:
            if line.strip():
                raise ParseError(str(path), number, "text before the record's first field", line)
            continue
        current[field_name].append(line)
    if current is not None:
        records[key] = {f: _clean(" ".join(v)) for f, v in current.items()}
    if not records:
        raise DataFormatError(f"{path}: no .I record found")
    return records


def read_tsv_corpus(path: PathLike) -> dict[str, str]:
    """``docid<TAB>text`` or ``docid<TAB>title<TAB>text`` lines (MS MARCO's
    ``collection.tsv``); a title is joined to the text with a space."""
    docs = _read_tsv_pairs(path, "document")
    return {d: t.replace("\t", " ") for d, t in docs.items()}


def _jsonl(path: PathLike) -> Iterator[tuple[int, dict[str, object]]]:
    for number, line in _numbered_lines(path):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(str(path), number, f"not a JSON object ({exc.msg})", line) from None
        if not isinstance(value, dict):
            raise ParseError(str(path), number, "not a JSON object", line)
        yield number, value


def read_jsonl_corpus(path: PathLike, *, what: str = "document") -> dict[str, str]:
    """BEIR JSON lines: ``{"_id": ..., "title": ..., "text": ...}`` per line (the title,
    when not empty, comes first)."""
    out: dict[str, str] = {}
    for number, record in _jsonl(path):
        key = record.get("_id", record.get("id"))
        text = record.get("text")
        if not isinstance(text, str):
            raise ParseError(str(path), number, f"a {what} without a 'text' string")
        title = record.get("title")
        if isinstance(title, str) and title.strip():
            text = f"{title} {text}"
        _add(out, "" if key is None else str(key), text, path, number, what)
    if not out:
        raise DataFormatError(f"{path}: no {what} found")
    return out


def read_beir_qrels(path: PathLike) -> Qrels:
    """BEIR qrels: a TSV with a ``query-id corpus-id score`` header."""
    qrels: Qrels = {}
    for number, line in _numbered_lines(path):
        parts = line.split("\t")
        if number == 1 and parts and parts[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if not line.strip():
            continue
        if len(parts) != 3:
            raise ParseError(str(path), number, "expected 'query-id<TAB>corpus-id<TAB>score'", line)
        q, d, score = (p.strip() for p in parts)
        try:
            value = float(score)
        except ValueError:
            raise ParseError(str(path), number, f"score {score!r} is not a number", line) from None
        if not np.isfinite(value):
            raise ParseError(str(path), number, f"score {score!r} is not finite", line)
        judged = qrels.setdefault(q, {})
        if d in judged:
            raise ParseError(str(path), number, f"document {d!r} judged twice for {q!r}", line)
        judged[d] = value
    if not qrels:
        raise DataFormatError(f"{path}: no judgement found")
    return qrels


def read_beir(root: PathLike, *, split: str = "test") -> TextCollection:
    """A BEIR folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv`` (only
    the queries the split judges are kept)."""
    folder = Path(root)
    qrels = read_beir_qrels(folder / "qrels" / f"{split}.tsv")
    queries = read_jsonl_corpus(folder / "queries.jsonl", what="query")
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise DataFormatError(f"{folder}: qrels judge queries without text: {missing[:5]}")
    kept = {q: queries[q] for q in queries if q in qrels}
    return TextCollection(folder.name, read_jsonl_corpus(folder / "corpus.jsonl"), kept, qrels)


def read_first_stage_json(
    path: PathLike, *, tag: str = "first_stage"
) -> tuple[dict[str, str], dict[str, str], TrecRun]:
    """``(queries, passages, run)`` from a first stage's results with passage text:
    a JSON list of ``{"query": text, "hits": [{"qid", "docid", "score", "rank",
    "content"}, ...]}`` (rank_llm's layout). Entries are numbered from 1 in errors."""
    stream, raw = open_binary_read(path)
    try:
        with stream, raw:
            entries = json.loads(stream.read().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: not a JSON document ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise DataFormatError(f"{path}: expected a non-empty JSON list of queries")
    queries: dict[str, str] = {}
    passages: dict[str, str] = {}
    qids, docids, scores, ranks = [], [], [], []
    for number, entry in enumerate(entries, start=1):
        hits = entry.get("hits") if isinstance(entry, dict) else None
        text = entry.get("query") if isinstance(entry, dict) else None
        if not isinstance(text, str) or not isinstance(hits, list) or not hits:
            raise ParseError(str(path), number, "an entry needs a 'query' text and 'hits'")
        qid = str(hits[0].get("qid", ""))
        _add(queries, qid, text, path, number, "query")
        seen: set[str] = set()
        for hit in hits:
            try:
                doc, score, rank = str(hit["docid"]), float(hit["score"]), int(hit["rank"])
                content = hit["content"]
            except (KeyError, TypeError, ValueError):
                raise ParseError(
                    str(path), number, "a hit needs 'docid', 'score', 'rank' and 'content'"
                ) from None
            if str(hit.get("qid", qid)) != qid:
                raise ParseError(str(path), number, f"a hit of query {qid!r} names another qid")
            if doc in seen:
                raise ParseError(str(path), number, f"passage {doc!r} listed twice for {qid!r}")
            seen.add(doc)
            previous = passages.setdefault(doc, _clean(str(content)))
            if previous != _clean(str(content)):
                raise ParseError(str(path), number, f"passage {doc!r} has two different texts")
            qids.append(qid)
            docids.append(doc)
            scores.append(score)
            ranks.append(rank)
    run = TrecRun(
        np.asarray(qids, dtype=np.str_),
        np.asarray(docids, dtype=np.str_),
        np.asarray(scores, dtype=np.float64),
        np.asarray(ranks, dtype=np.int64),
        tag,
    )
    return queries, passages, run


# ----------------------------------------------------------------------------- collections
def load_cranfield(root: PathLike) -> TextCollection:
    """The Cranfield 1400 collection (``cran.all.1400``, ``cran.qry``, ``cranqrel``).

    Documents are title and abstract (``.T`` + ``.W``). ``cran.qry`` numbers its 225
    queries 1..365 with gaps while ``cranqrel`` numbers them 1..225: the i-th query of
    ``cran.qry`` is qrels query i (the collection's documented mapping), and queries are
    named by that qrels number. Cleverdon's codes are inverse grades (1 = a complete
    answer ... 4 = minimum interest) and each query has one artefact code -1: relevance
    is ``5 - code`` (4 best ... 1), and -1 becomes 0 (non-relevant).
    """
    folder = Path(root)
    records = read_smart(folder / "cran.all.1400")
    documents = {d: _clean(f"{r.get('T', '')} {r.get('W', '')}") for d, r in records.items()}
    topics = read_smart(folder / "cran.qry")
    queries = {str(i): r.get("W", "") for i, r in enumerate(topics.values(), start=1)}
    qrels: Qrels = {}
    path = folder / "cranqrel"
    for number, line in _numbered_lines(path):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(p.lstrip("-").isdigit() for p in parts):
            raise ParseError(str(path), number, "expected 'query doc code' (integers)", line)
        q, d, code = parts[0], parts[1], int(parts[2])
        if code not in (-1, 1, 2, 3, 4):
            raise ParseError(str(path), number, f"relevance code {code} is not -1 or 1..4", line)
        judged = qrels.setdefault(q, {})
        if d in judged:
            raise ParseError(str(path), number, f"document {d} judged twice for query {q}", line)
        judged[d] = 0.0 if code == -1 else float(5 - code)
    return TextCollection("cranfield", documents, queries, qrels)


def load_vaswani(root: PathLike) -> TextCollection:
    """The Vaswani (NPL) collection in TREC format (``doc-text.trec``,
    ``query-text.trec``, ``qrels``; binary relevance)."""
    folder = Path(root)
    return TextCollection(
        "vaswani",
        read_trec_documents(folder / "doc-text.trec"),
        read_trec_topics(folder / "query-text.trec"),
        read_qrels(folder / "qrels"),
    )


def load_dl19(root: PathLike, qrels_root: PathLike | None = None) -> TextCollection:
    """TREC DL 2019 passages as given: the 43 judged queries, the passages of BM25's
    top-100 (``bm25_top100_dl19.json``) as the collection, that BM25 run as
    ``runs["bm25"]``, and the qrels from ``qrels_root`` (default: the sibling folder
    ``trec-dl-2019-passage-qrels``). Judged passages outside the top-100 have no text:
    they count as relevant documents nobody retrieved, as in trec_eval."""
    folder = Path(root)
    queries, passages, run = read_first_stage_json(folder / "bm25_top100_dl19.json", tag="bm25")
    qroot = (
        Path(qrels_root) if qrels_root is not None else folder.parent / "trec-dl-2019-passage-qrels"
    )
    qrels = read_qrels(qroot / "qrels.dl19-passage.txt")
    return TextCollection("dl19", passages, queries, qrels, {"bm25": run})


_LAYOUTS: Sequence[tuple[str, str]] = (
    ("cran.all.1400", "cranfield"),
    ("doc-text.trec", "vaswani"),
    ("bm25_top100_dl19.json", "dl19"),
    ("corpus.jsonl", "beir"),
)


def load_collection(
    root: PathLike,
    *,
    documents: PathLike | None = None,
    topics: PathLike | None = None,
    qrels: PathLike | None = None,
    runs: Mapping[str, PathLike] | None = None,
) -> TextCollection:
    """A collection from a folder in any known layout (Cranfield, Vaswani, DL 2019 top-100,
    BEIR), or from separate files: ``documents`` (TREC ``<DOC>``, TSV or JSONL by
    suffix), ``topics`` (TREC or TSV), ``qrels`` (TREC) and first-stage ``runs``."""
    if documents is not None:
        if topics is None:
            raise ValueError("load_collection: documents need topics")
        doc_path = Path(documents)
        suffixes = "".join(doc_path.suffixes).lower()
        if ".jsonl" in suffixes:
            docs = read_jsonl_corpus(doc_path)
        elif ".tsv" in suffixes:
            docs = read_tsv_corpus(doc_path)
        else:
            docs = read_trec_documents(doc_path)
        topic_path = Path(topics)
        if ".jsonl" in "".join(topic_path.suffixes).lower():
            queries = read_jsonl_corpus(topic_path, what="query")
        else:
            queries = read_trec_topics(topic_path)
        judged = read_qrels(qrels) if qrels is not None else {}
        given = {name: read_trec_run(path) for name, path in (runs or {}).items()}
        return TextCollection(doc_path.stem, docs, queries, judged, given)
    folder = Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such collection folder: {folder}")
    for marker, layout in _LAYOUTS:
        if (folder / marker).exists():
            if layout == "cranfield":
                return load_cranfield(folder)
            if layout == "vaswani":
                return load_vaswani(folder)
            if layout == "dl19":
                return load_dl19(folder)
            return read_beir(folder)
    raise DataFormatError(
        f"{folder}: not a known collection layout (looked for "
        f"{', '.join(m for m, _ in _LAYOUTS)}); pass documents=, topics= and qrels="
    )
