"""Sphinx configuration of rankwise's API reference (``make docs``).

Sphinx with autodoc, because the docstrings are reStructuredText (``:func:`` and ``:math:``
roles, ``Args:`` sections read by napoleon): the reference is generated from them as they
are, and ``make test`` builds it with ``-n -W`` (every warning an error, every reference
checked), so a docstring that points at a name that does not exist fails CI. No network:
no intersphinx; references to torch, numpy and the standard library are not checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rankwise import __version__

project = "rankwise"
author = "the rankwise developers"
release = version = __version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
root_doc = "index"
exclude_patterns = ["_build", "architecture.md"]
html_theme = "alabaster"
html_static_path: list[str] = []
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = True
# Outside rankwise nothing can be resolved offline; inside, private helpers are not
# documented. Anything else that does not resolve is an error.
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|np|numpy|npt|pa|pyarrow|rich|pydantic|yaml|collections|typing)\b.*"),
    (r"py:.*", r"(Tensor|Path|Any|Callable|Iterable|Iterator|Mapping|Sequence|Literal)\b.*"),
    (r"py:.*", r"(Console|DataLoader|Dataset|Sampler|Generator|Module|Parameter)\b.*"),
    (r"py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None)\b.*"),
    (r"py:.*", r"(os|io|inspect|dataclasses|enum|abc|pathlib|concurrent|json)\b.*"),
    (r"py:.*", r"(PathLike|IO|TypeVar|Protocol|Generic|ClassVar|NamedTuple)\b.*"),
    (r"py:.*", r".*\._[A-Za-z].*"),
    (r"py:.*", r"_[A-Za-z].*"),
    (r"py:.*", r"(functools|nn|F|nnf|importlib|difflib|re|csv|math)\b.*"),
    # pydantic's constrained types, the web stack of rankwise.serving
    (r"py:.*", r"(annotated_types|types|fastapi|starlette|uvicorn|asyncio)\b.*"),
    (r"py:.*", r"(gt|ge|lt|le)=.*"),
    # type aliases (Literal unions and callables), shown by name in signatures
    (
        r"py:.*",
        r"(rankwise\.[\w.]*\.)?(T|P|R|Kind|Reduction|Ties|Gain|Empty|Threshold|Kernel|Amp|"
        r"Similarity|PerList|LambdaWeighting|KRule|TripletMining|ApproxMetric|Augment|Target|"
        r"Run|Format|Direction|Correction|Test|IntArray|FloatArray|FloatTable|Aggregator|"
        r"PairLoss|PairWeights|LossFn|GroupTies|Generator|Pooling|Precision|Audience|"
        r"CacheCheck|Perturbation)",
    ),
]


def _resolve_reexported(app, env, node, contnode):  # type: ignore[no-untyped-def]
    """Resolve a reference to where the reference documents the name.

    Each name is documented once, in the public module that defines it
    (``rankwise.data.ranking_data.RankingData``), or, for :mod:`rankwise.functional` and
    :mod:`rankwise.losses`, whose modules are private, at the package
    (``rankwise.functional.ndcg``). Docstrings and type hints may write a name by its
    package (``rankwise.data.RankingData``), by its private module, or by its short name
    inside its module. A reference that does not resolve as written is resolved to the one
    documented object with the same last name whose path starts with the written package,
    or whose package is a prefix of the written path; a short name to the only documented
    object of that name. Anything else stays unresolved: an error under ``-n -W``.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    objects = env.get_domain("py").objects
    last = target.rsplit(".", 1)[-1]
    same_name = [name for name in objects if name.rsplit(".", 1)[-1] == last]
    if target.startswith("rankwise."):
        prefix = target.rsplit(".", 1)[0]
        candidates = [
            name
            for name in same_name
            if name.startswith(prefix + ".") or prefix.startswith(name.rsplit(".", 1)[0] + ".")
        ]
    elif "." not in target:
        candidates = same_name
    else:  # Class.member, written without its module
        candidates = [name for name in objects if name.endswith("." + target)]
    if len(candidates) > 1:  # prefer the referring module (and class)
        context = ".".join(filter(None, (node.get("py:module"), node.get("py:class"))))
        for scope in (context, node.get("py:module") or ""):
            near = [name for name in candidates if scope and name.startswith(scope + ".")]
            if len(near) == 1:
                candidates = near
                break
    if len(candidates) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    entry = objects[candidates[0]]
    return make_refnode(
        app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, candidates[0]
    )


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("missing-reference", _resolve_reexported)
