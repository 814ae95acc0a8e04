"""Names the command line offers before anything heavy is imported."""

NO_RERANK = "-norerank"  # "hybrid-norerank": hybrid with the fused order, to measure what reranking adds
EVAL_MODES = ("hybrid", "hybrid" + NO_RERANK, "bm25", "dense")
BENCHMARKS = ("seed", "seed-traditional", "cmrc2018", "cmrc2018-heldout", "drcd", "drcd-heldout")
