"""The loss classes of ``rankwise.losses``: one explicit class per loss, named as exported,
picklable, with its function's parameters as its signature, and equal to its function."""

from __future__ import annotations

import ast
import inspect
import pickle
from pathlib import Path

import pytest
import torch

import rankwise.losses as L
from rankwise import functional as F
from rankwise.errors import RegistryError
from rankwise.registry import keyword_only_parameters

REGISTRIES = {
    "loss": L.LOSSES,
    "embedding_loss": L.EMBEDDING_LOSSES,
    "recommendation_loss": L.RECOMMENDATION_LOSSES,
}
CLASSES = sorted(
    {(kind, name, registry[name]) for kind, registry in REGISTRIES.items() for name in registry},
    key=lambda entry: (entry[0], entry[1]),
)
IDS = [f"{kind}:{name}" for kind, name, _ in CLASSES]


@pytest.mark.parametrize(("kind", "name", "cls"), CLASSES, ids=IDS)
def test_every_registered_class_is_exported_under_its_name(kind, name, cls):
    assert cls.__name__ in L.__all__, f"{cls.__name__} missing from rankwise.losses.__all__"
    assert getattr(L, cls.__name__) is cls
    assert cls.__module__ == "rankwise.losses" and cls.__qualname__ == cls.__name__


def test_every_class_has_a_class_statement():
    """No class is made with ``type()``: each registered class is a ``class`` statement of
    rankwise/losses.py with the name it is exported under."""
    source = Path(inspect.getfile(L)).read_text(encoding="utf-8")
    defined = {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)}
    assert {cls.__name__ for _, _, cls in CLASSES} <= defined
    calls = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "type"
    ]
    assert all(len(c.args) == 1 for c in calls), "a class made by type(name, bases, dict)"


@pytest.mark.parametrize(("kind", "name", "cls"), CLASSES, ids=IDS)
def test_every_class_pickles_and_unpickles(kind, name, cls):
    module = cls()
    clone = pickle.loads(pickle.dumps(module))
    assert type(clone) is cls and repr(clone) == repr(module)


@pytest.mark.parametrize(("kind", "name", "cls"), CLASSES, ids=IDS)
def test_registry_name_is_the_function_name(kind, name, cls):
    function = getattr(cls, "function", None)
    if function is None:  # SigLIPLoss owns its learnable parameters
        assert name == "siglip" and cls is L.SigLIPLoss
        return
    assert function is getattr(F, function.__name__), "the function lives in rankwise.functional"
    assert name == function.__name__.removesuffix("_loss")
    expected = set(keyword_only_parameters(function, cls.per_call))
    assert set(inspect.signature(cls).parameters) == expected


def test_ranking_loss_modules_equal_their_functions():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 5, generator=g)
    y = torch.randint(0, 3, (3, 5), generator=g).float()
    m = torch.rand(3, 5, generator=g) > 0.2
    for name in ("neural_ndcg", "lambda", "listmle", "softmax", "ranknet", "approx_ndcg"):
        cls = L.LOSSES[name]
        for reduction in ("mean", "sum", "none"):
            module = cls(reduction=reduction)
            torch.testing.assert_close(
                module(s, y, m), cls.function(s, y, mask=m, reduction=reduction)
            )
    module = L.LambdaLoss(lambda_weights="lambdarank", k=3, reduction="sum")
    want = F.lambda_loss(s, y, mask=m, lambda_weights="lambdarank", k=3, reduction="sum")
    torch.testing.assert_close(module(s, y, m), want)
    assert repr(module) == "LambdaLoss(reduction='sum', lambda_weights='lambdarank', k=3)"


def test_embedding_and_recommendation_modules_equal_their_functions():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 4, generator=g)
    y = torch.arange(8) % 3
    torch.testing.assert_close(
        L.MultiSimilarityLoss(alpha=3.0)(x, y), F.multi_similarity_loss(x, y, alpha=3.0)
    )
    pos, neg = torch.randn(5, generator=g), torch.randn(5, 7, generator=g)
    torch.testing.assert_close(L.CCLLoss(margin=0.3)(pos, neg), F.ccl_loss(pos, neg, margin=0.3))


def test_bad_parameters_are_named_with_a_suggestion():
    with pytest.raises(RegistryError, match=r"unknown parameter 'temprature'.*'temperature'"):
        L.NeuralNDCGLoss(temprature=1.0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.SoftmaxLoss(reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="unknown parameter 'alpah'"):
        L.MultiSimilarityLoss(alpah=2.0)
