"""Taking a trained ranker out of Python training: export (ONNX, TorchScript) and the
reranking service (``rankwise serve``).

- :mod:`~rankwise.serving.export`: :func:`export_model`, :class:`RawFeatureRanker`;
- :mod:`~rankwise.serving.text_export`: text rankers with their tokenizer;
- :mod:`~rankwise.serving.service`: the HTTP API (:func:`create_app`).
"""

from rankwise.serving.export import RawFeatureRanker, export_model, raw_feature_ranker

__all__ = ["RawFeatureRanker", "export_model", "raw_feature_ranker"]
