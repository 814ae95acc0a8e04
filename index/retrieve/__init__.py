"""Retrieval, the first stage of the pipeline (retrieve → fuse → rerank → merge → evidence):
BM25 over jieba tokens (``lexical``) and nearest passage vectors in FAISS (``dense``), and
``backends``, where an index lives: those local files, or Milvus collections (the one place
that picks the backend, from the index's manifest)."""
