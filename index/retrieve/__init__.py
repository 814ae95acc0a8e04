"""Retrieval, the first stage of the pipeline (retrieve → fuse → rerank → merge → evidence):
BM25 over jieba tokens (``lexical``) and nearest passage vectors in FAISS (``dense``)."""
