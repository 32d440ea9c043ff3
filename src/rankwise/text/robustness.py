"""Robustness of a text ranker to perturbed queries and documents (Wu et al. 2021, "Are
Neural Ranking Models Robust?"; query variations after Penha et al.'s generators).

Perturbations (each seeded, each a pure function of the text and a generator):

- queries: ``typos`` (per word, with probability ``rate``, one character swapped with
  its neighbour, deleted, duplicated or replaced by a keyboard neighbour), ``word_order``
  (the words shuffled), ``no_stopwords`` (English stop words removed; a query of stop
  words only is kept as is);
- documents: ``truncation`` (the first half of the words), ``sentence_order`` (sentences
  shuffled).

:func:`robustness_report` ranks the original and each perturbed version with the same
ranking function, evaluates NDCG@10 per query (trec_eval conventions) and reports the
mean, the drop against the original, and the worst 10% of queries (the mean NDCG@10 of
the 10% of queries that lose most, and their mean loss).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rankwise.runs.evaluation import evaluate_run
from rankwise.runs.trec import Qrels, TrecRun

#: English stop words (a common short list; the query perturbation removes them).
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)

_KEYBOARD = {
    c: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i, c in enumerate(row)
}


def typos(text: str, rng: np.random.Generator, *, rate: float = 0.2) -> str:
    """Each word of four letters or more gets one character error with probability
    ``rate``: a swap of two neighbours, a deletion, a duplication or a keyboard-neighbour
    substitution.

    Example:
        >>> typos("aerodynamic heating of wings", np.random.default_rng(1), rate=1.0)
        'aerodynsmic heatibg of wngs'
    """
    out = []
    for word in text.split():
        if len(word) >= 4 and rng.random() < rate:
            i = int(rng.integers(1, len(word) - 1))
            kind = int(rng.integers(4))
            if kind == 0:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif kind == 1:
                word = word[:i] + word[i + 1 :]
            elif kind == 2:
                word = word[:i] + word[i] + word[i:]
            else:
                near = _KEYBOARD.get(word[i].lower(), word[i])
                word = word[:i] + near[int(rng.integers(len(near)))] + word[i + 1 :]
        out.append(word)
    return " ".join(out)


def word_order(text: str, rng: np.random.Generator) -> str:
    """The words in a random order."""
    words = text.split()
    return " ".join(words[i] for i in rng.permutation(len(words)))


def no_stopwords(text: str, rng: np.random.Generator | None = None) -> str:
    """The text without English stop words (unchanged if nothing else would remain).

    Example:
        >>> no_stopwords("what is the heat transfer of a wing")
        'heat transfer wing'
    """
    kept = [w for w in text.split() if w.lower().strip("?.,;:!") not in STOPWORDS]
    return " ".join(kept) if kept else text


def truncation(text: str, rng: np.random.Generator | None = None, *, keep: float = 0.5) -> str:
    """The first ``keep`` of the words (at least one)."""
    words = text.split()
    return " ".join(words[: max(1, int(len(words) * keep))])


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentence_order(text: str, rng: np.random.Generator) -> str:
    """The sentences (split after ``.``, ``!``, ``?``) in a random order."""
    parts = [p for p in _SENTENCE.split(text.strip()) if p]
    return " ".join(parts[i] for i in rng.permutation(len(parts)))


Perturbation = Callable[[str, np.random.Generator], str]
QUERY_PERTURBATIONS: dict[str, Perturbation] = {
    "typos": typos,
    "word_order": word_order,
    "no_stopwords": no_stopwords,
}
DOCUMENT_PERTURBATIONS: dict[str, Perturbation] = {
    "truncation": truncation,
    "sentence_order": sentence_order,
}


@dataclass
class RobustnessReport:
    """NDCG@10 of the original and each perturbation (module docstring)."""

    original: float
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    queries: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return {"original": self.original, "queries": self.queries, "perturbations": self.rows}

    def table(self) -> str:
        """A Markdown table of the report."""
        lines = [
            "| perturbation | NDCG@10 | drop | worst 10%: NDCG@10 | worst 10%: drop |",
            "|---|---|---|---|---|",
            f"| none | {self.original:.4f} | | | |",
        ]
        for name, r in self.rows.items():
            lines.append(
                f"| {name} | {r['ndcg10']:.4f} | {r['drop']:+.4f} | "
                f"{r['worst10_ndcg10']:.4f} | {r['worst10_drop']:+.4f} |"
            )
        return "\n".join(lines)


def _per_query(run: TrecRun, qrels: Qrels) -> dict[str, float]:
    key = "ndcg@10[gain=linear,ties=stable]"
    evaluation = evaluate_run(run, qrels, [key], missing="zero")
    return dict(zip(evaluation.qids, evaluation.per_query[key].tolist(), strict=True))


def robustness_report(
    rank: Callable[[Mapping[str, str], Mapping[str, str]], TrecRun],
    queries: Mapping[str, str],
    documents: Mapping[str, str],
    qrels: Qrels,
    *,
    query_perturbations: Sequence[str] = tuple(QUERY_PERTURBATIONS),
    document_perturbations: Sequence[str] = tuple(DOCUMENT_PERTURBATIONS),
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> RobustnessReport:
    """Rank with ``rank(queries, documents)`` on the originals and on each perturbed
    version (module docstring). Documents are perturbed as a whole collection, so
    ``rank`` sees consistent texts (a cached-vector ranker must re-encode them)."""
    judged = {q: qrels[q] for q in queries if qrels.get(q)}
    base = _per_query(rank(queries, documents), judged)
    report = RobustnessReport(float(np.mean(list(base.values()))), queries=len(base))
    cases: list[tuple[str, Mapping[str, str], Mapping[str, str]]] = []
    for name in query_perturbations:
        fn = QUERY_PERTURBATIONS[name]
        rng = np.random.default_rng(seed)
        cases.append((f"query: {name}", {q: fn(t, rng) for q, t in queries.items()}, documents))
    for name in document_perturbations:
        fn = DOCUMENT_PERTURBATIONS[name]
        rng = np.random.default_rng(seed)
        cases.append((f"document: {name}", queries, {d: fn(t, rng) for d, t in documents.items()}))
    for name, qs, docs in cases:
        values = _per_query(rank(qs, docs), judged)
        drops = np.array([base[q] - values.get(q, 0.0) for q in base])
        after = np.array([values.get(q, 0.0) for q in base])
        worst = np.argsort(-drops, kind="stable")[: max(1, len(drops) // 10)]
        report.rows[name] = {
            "ndcg10": float(after.mean()),
            "drop": float(after.mean() - report.original),
            "worst10_ndcg10": float(after[worst].mean()),
            "worst10_drop": float(-drops[worst].mean()),
        }
        if log is not None:
            log(f"{name}: NDCG@10 {after.mean():.4f} ({after.mean() - report.original:+.4f})")
    return report
