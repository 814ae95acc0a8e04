"""The reranking stage of the pipeline (retrieve → fuse → rerank → merge → evidence).

Entry: ``Reranker`` (``index.rank.reranker``); the model it applies is
``RankerModel`` (``index.rank.model``), trained by ``qa train-ranker`` (``eval.train``).
"""

from index.rank.model import DEFAULT_MODEL, RankerModel, RankerModelError
from index.rank.reranker import PassageViews, Ranked, Reranker

__all__ = ["DEFAULT_MODEL", "PassageViews", "Ranked", "RankerModel", "RankerModelError", "Reranker"]
