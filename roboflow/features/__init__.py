"""Feature extraction: camera frames and named vectors out of decoded messages, matched to a config.

:class:`FeaturePlan` (one per recording) checks the config against the recording's topics and types and turns
messages into aligner samples and aligned frames into episode-writer frames; :class:`ImageDecoder` and
:func:`vector_extractor` do the per-topic work.
"""

from __future__ import annotations

from roboflow.features.images import ImageDecoder
from roboflow.features.plan import FeaturePlan
from roboflow.features.types import default_fields, image_kind
from roboflow.features.vectors import VectorExtractor, vector_extractor

__all__ = ["FeaturePlan", "ImageDecoder", "VectorExtractor", "default_fields", "image_kind", "vector_extractor"]
