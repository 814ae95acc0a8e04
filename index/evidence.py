"""Evidence step: the sentence of a result's passage that most likely holds the answer.

With the trained model, a learned score over the sentence's features (question words and
bigrams it covers, numbers in common, whether it holds what the question asks for — a
number, a date, a person, a place —, its cosine with the question, and where it stands); without it, the sentence with
the most informative question words (idf) plus a share of character bigrams in common.

A line that is not a sentence — a short label with no end mark, such as the date heading an
item of a timeline ("- 2009年12月23日") or a list's lead-in ("拥有6个国家级称号：") — is
shown together with the sentence it introduces: alone, neither says what the other means.
"""

from __future__ import annotations

import numpy as np

from index.ingest.chunking import CLOSERS, SENTENCE_END, Span
from index.rank.analysis import PassageView, QuestionView, Sentence
from index.rank.features import best_lexical_sentence, sentence_features_many
from index.rank.model import Forest


def is_label(sentence: Sentence, label_chars: int) -> bool:
    """A short line with no sentence end mark: a heading, a list item's date, a lead-in."""
    text = sentence.normalized.strip()
    return 0 < len(text) <= label_chars and text[-1] not in SENTENCE_END and text[-1] not in CLOSERS


def with_label(passage: PassageView, chosen: int, label_chars: int) -> Span:
    """The chosen sentence, joined with the label line before it (or, when the chosen line is
    itself a label, with the sentence after it)."""
    sentences = passage.sentences
    span = sentences[chosen].span
    if label_chars <= 0:
        return span
    if is_label(sentences[chosen], label_chars) and chosen + 1 < len(sentences):
        return Span(span.start, sentences[chosen + 1].span.end)
    if chosen > 0 and is_label(sentences[chosen - 1], label_chars):
        return Span(sentences[chosen - 1].span.start, span.end)
    return span


def choose_evidence(question: QuestionView, passage: PassageView, sentence_model: Forest | None,
                    sentence_dense: np.ndarray, label_chars: int = 0) -> Span:
    """`sentence_dense`: the question's cosine with each sentence (nan when unknown)."""
    return choose_evidence_many(question, [passage], sentence_model, [sentence_dense], label_chars)[0]


def choose_evidence_many(question: QuestionView, passages: list[PassageView], sentence_model: Forest | None,
                         sentence_dense: list[np.ndarray], label_chars: int = 0) -> list[Span]:
    """The evidence of several passages, scored in one model call (the results of a response).
    `label_chars`: a line at most this long without an end mark is a label (0: never join)."""
    if sentence_model is None:
        return [with_label(p, best_lexical_sentence(question, p), label_chars) for p in passages]
    scores = sentence_model.predict(sentence_features_many(question, passages, sentence_dense))
    bounds = np.cumsum([0] + [len(p.sentences) for p in passages])
    return [with_label(p, int(np.argmax(scores[a:b])), label_chars)
            for p, a, b in zip(passages, bounds[:-1], bounds[1:], strict=True)]
