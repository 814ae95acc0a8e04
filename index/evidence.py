"""Pick the sentence inside a passage that best answers the question."""

from __future__ import annotations

from collections.abc import Callable

from index.chunking import Span, split_sentences
from index.tokenize import normalize_for_match

BIGRAM_WEIGHT = 0.5


def _bigrams(text: str) -> set[str]:
    chars = [c for c in normalize_for_match(text) if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def best_sentence(
    document_text: str,
    passage: Span,
    query: str,
    query_tokens: list[str],
    tokenize: Callable[[str], list[str]],
    idf: Callable[[str], float],
) -> Span:
    """The sentence of the passage sharing the most informative words with the question.

    Score: the idf of each distinct question word the sentence contains, plus a
    smaller share of character bigrams in common (which catches words jieba cut
    differently). Ties go to the earlier sentence.
    """
    sentences = split_sentences(document_text, passage.start, passage.end) or [passage]
    if len(sentences) == 1:
        return sentences[0]
    wanted = set(query_tokens)
    query_bigrams = _bigrams(query)
    best, best_score = sentences[0], float("-inf")
    for sentence in sentences:
        text = document_text[sentence.start:sentence.end]
        lexical = sum(idf(t) for t in wanted.intersection(tokenize(text)))
        shared = len(query_bigrams & _bigrams(text)) / (len(query_bigrams) or 1)
        score = lexical + BIGRAM_WEIGHT * shared
        if score > best_score:
            best, best_score = sentence, score
    return best
