"""Training the extractive reader (index/read/): examples from the benchmarks' training parts,
the torch model, a resumable training loop, and the small delta that is committed."""
