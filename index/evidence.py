"""Evidence step: the sentence of a result's passage that most likely holds the answer.

With the trained model, a learned score over the sentence's features (question words and
bigrams it covers, numbers in common, whether it holds what the question asks for — a
number, a date, a person, a place —, its cosine with the question, and where it stands); without it, the sentence with
the most informative question words (idf) plus a share of character bigrams in common.
"""

from __future__ import annotations

import numpy as np

from index.chunking import Span
from index.rank.analysis import PassageView, QuestionView
from index.rank.features import best_lexical_sentence, sentence_features
from index.rank.model import Forest


def choose_evidence(question: QuestionView, passage: PassageView, sentence_model: Forest | None,
                    sentence_dense: np.ndarray) -> Span:
    """`sentence_dense`: the question's cosine with each sentence (nan when unknown)."""
    if len(passage.sentences) == 1:
        return passage.sentences[0].span
    if sentence_model is None:
        return passage.sentences[best_lexical_sentence(question, passage)].span
    scores = sentence_model.predict(sentence_features(question, passage, sentence_dense))
    return passage.sentences[int(np.argmax(scores))].span
