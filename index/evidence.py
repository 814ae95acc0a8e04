"""Evidence step: the sentence of a result's passage that most likely holds the answer.

With the trained model, a learned score over the sentence's features (question words and
bigrams it covers, numbers in common, whether it holds what the question asks for — a
number, a date, a person, a place —, its cosine with the question, and where it stands); without it, the sentence with
the most informative question words (idf) plus a share of character bigrams in common.
"""

from __future__ import annotations

import numpy as np

from index.ingest.chunking import Span
from index.rank.analysis import PassageView, QuestionView
from index.rank.features import best_lexical_sentence, sentence_features
from index.rank.model import Forest


def choose_evidence(question: QuestionView, passage: PassageView, sentence_model: Forest | None,
                    sentence_dense: np.ndarray) -> Span:
    """`sentence_dense`: the question's cosine with each sentence (nan when unknown)."""
    return choose_evidence_many(question, [passage], sentence_model, [sentence_dense])[0]


def choose_evidence_many(question: QuestionView, passages: list[PassageView], sentence_model: Forest | None,
                         sentence_dense: list[np.ndarray]) -> list[Span]:
    """The evidence of several passages, scored in one model call (the results of a response)."""
    if sentence_model is None:
        return [p.sentences[best_lexical_sentence(question, p)].span for p in passages]
    rows = [sentence_features(question, p, d) for p, d in zip(passages, sentence_dense, strict=True)]
    scores = sentence_model.predict(np.vstack(rows)) if rows else np.zeros(0)
    bounds = np.cumsum([0] + [len(r) for r in rows])
    return [p.sentences[int(np.argmax(scores[a:b]))].span
            for p, a, b in zip(passages, bounds[:-1], bounds[1:], strict=True)]
