"""`qa train-ranker`: build training data from the benchmarks' training parts and fit the
reranking model (``index/rank/reranker.json``). Entry: ``eval.train.cli``."""
