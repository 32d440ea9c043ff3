"""One Registry type for every kind of component, one build(kind, spec), one error type."""

from __future__ import annotations

import functools
import inspect

import pytest
import torch

from rankwise.errors import RankwiseError, RegistryError
from rankwise.registry import Registry, build, parse_spec, registries

KINDS = {
    "embedding_loss",
    "fusion_method",
    "gbdt_model",
    "lambda_weights",
    "loss",
    "metric",
    "model",
    "text_model",
    "normalization",
    "optimizer",
    "pair_sampler",
    "pairwise_aggregator",
    "recommendation_loss",
    "scheduler",
    "transform",
    "voting_rule",
}


def _supplied(kind: str) -> dict[str, object]:
    """What a builder passes itself, per kind."""
    if kind == "model":
        return {"num_features": 6}
    if kind == "optimizer":
        return {"params": [torch.nn.Parameter(torch.zeros(2))]}
    if kind == "scheduler":
        return {"optimizer": torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)}
    return {}


# parameters an entry needs that have no default
REQUIRED = {("scheduler", "step"): {"step_size": 2}}
REQUIRED |= {("scheduler", "multistep"): {"milestones": [1]}}
REQUIRED |= {("scheduler", "cosine"): {"T_max": 3}, ("scheduler", "onecycle"): {"max_lr": 0.1}}
REQUIRED |= {("scheduler", "exponential"): {"gamma": 0.9}, ("optimizer", "sgd"): {"lr": 0.1}}
REQUIRED |= {("transform", "clip"): {"lower": 0.0}, ("transform", "compose"): {"transforms": []}}
REQUIRED |= {("gbdt_model", "lightgbm"): {"objective": "lambdarank"}}
REQUIRED |= {("gbdt_model", "xgboost"): {"objective": "rank:ndcg"}}
REQUIRED |= {("scheduler", "onecycle"): {"max_lr": 0.1, "total_steps": 5}}
ENTRIES = [(kind, name) for kind, registry in registries().items() for name in registry]


def test_every_kind_has_one_registry_of_the_one_type():
    found = registries()
    assert set(found) == KINDS
    assert all(type(r) is Registry and r.kind == kind for kind, r in found.items())


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}:{n}" for k, n in ENTRIES])
def test_every_entry_builds_from_a_config_spec(kind, name):
    """Every component can be named in a config: ``{name, params}`` builds it."""
    params = REQUIRED.get((kind, name), {})
    if kind == "transform" and name == "clip":
        params = {"lower": 0.0, "upper": 1.0}
    built = build(kind, {"name": name, "params": params}, **_supplied(kind))
    registry = registries()[kind]
    if registry.per_call:
        assert isinstance(built, functools.partial) and built.keywords == params
    else:
        assert built is not None
    assert registry.describe(name), f"{kind} {name!r} has no docstring to describe it"


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}:{n}" for k, n in ENTRIES])
def test_a_misspelt_parameter_is_named_with_a_suggestion(kind, name):
    allowed = registries()[kind].parameters(name)
    if not allowed:
        with pytest.raises(RegistryError, match=r"unknown parameter 'x_'.*allowed: \(none\)"):
            build(kind, {"name": name, "params": {"x_": 1}}, **_supplied(kind))
        return
    first = sorted(allowed)[0]
    typo = first[:-1] + ("x" if first[-1] != "x" else "y") if len(first) > 2 else first + "x"
    with pytest.raises(RegistryError, match=rf"unknown parameter '{typo}'"):
        build(kind, {"name": name, "params": {typo: 1}}, where="cfg", **_supplied(kind))


def test_unknown_names_kinds_and_keys_are_clear():
    with pytest.raises(RegistryError, match=r"loss\.name: unknown loss 'neural_ndgc' \(did you"):
        build("loss", {"name": "neural_ndgc"}, where="loss")
    with pytest.raises(RegistryError, match="unknown kind of component 'losses'"):
        build("losses", "softmax")
    with pytest.raises(RegistryError, match=r"loss\.parms: unknown key \(did you mean 'params'"):
        parse_spec({"name": "softmax", "parms": {}}, "loss")
    with pytest.raises(RegistryError, match="a component needs a name"):
        parse_spec({"params": {}}, "loss")
    with pytest.raises(RegistryError, match="needs parameter"):
        build("scheduler", "step", optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]))


def test_one_error_type_that_is_a_rankwise_error_and_a_value_error():
    assert issubclass(RegistryError, RankwiseError) and issubclass(RegistryError, ValueError)
    with pytest.raises(RankwiseError):
        build("metric", "ndcgg")


def test_reduction_is_accepted_by_the_builder_and_by_configs_alike():
    loss = build("loss", {"name": "softmax", "params": {"reduction": "sum"}})
    assert loss.reduction == "sum"
    from rankwise.train.config import validate_config

    config = validate_config(
        {
            "data": {"synthetic": {"num_queries": 10}},
            "model": {"name": "linear"},
            "loss": {"name": "softmax", "params": {"reduction": "sum"}},
        }
    )
    assert config.loss.params == {"reduction": "sum"}


def test_aliases_resolve_to_one_entry():
    metrics = registries()["metric"]
    assert metrics["opa"] is metrics["pair_accuracy"] and "opa" not in metrics.names()
    assert metrics.canonical("map") == "map" and metrics.canonical("ap") == "map"


def test_per_call_registries_bind_parameters():
    ndcg_at_2 = build("metric", {"name": "ndcg", "params": {"k": 2, "gain": "linear"}})
    scores, labels = torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0]])
    assert float(ndcg_at_2(scores, labels)) == 0.0
    assert set(inspect.signature(registries()["metric"]["ndcg"]).parameters) >= {"k", "gain"}


def test_a_kind_is_registered_once():
    with pytest.raises(RegistryError, match="already exists"):
        Registry("loss")
