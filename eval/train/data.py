"""Training material from one benchmark: candidate lists with relevance labels, and the
sentences of answering passages with answer labels.

Every question gives one list: the fused top candidates, exactly as search sees them.
Every other question also gives two lists with no answer in them, for the confidence
model: one as if its article were missing from the index (its passages removed), and
one as if only the answering passages were missing (the rest of the article stays: the
hard case, an on-topic question whose particular fact the articles do not give; its
article checks see the article with those passages blanked out).

For the "no answer" model, other questions are also changed into ones their article cannot
answer while staying on its topic (``changed_questions``): a year or number the article never
mentions in place of the asked one, or the question's rarest noun that the article has replaced
by a noun of the same kind from another article's question.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from eval.questions import Question
from eval.relevance import contains_answer, is_hit
from index.rank.analysis import YEAR, ArticleView, QuestionView, word_kind
from index.rank.features import sentence_features
from index.search import Retrieved, Searcher


@dataclass
class CandidateList:
    features: np.ndarray  # (candidates, PASSAGE_FEATURES)
    labels: np.ndarray  # 1 where the candidate answers the question
    article: str  # the gold article's title: folds never split an article
    answerable: bool  # False for the list with the gold passages removed
    constraints: np.ndarray  # (candidates, CONSTRAINTS) for the "no answer" model
    doc_ids: list[str]  # each candidate's article
    kind: str = "asked"  # or how it was made unanswerable: article, gold, number, noun


@dataclass
class SentenceGroup:
    features: np.ndarray  # (sentences, SENTENCE_FEATURES) of one answering passage
    labels: np.ndarray  # 1 where the sentence holds the answer


def article_without_answers(searcher: Searcher, question: Question) -> ArticleView:
    """The gold article as if it never gave the answer: every passage holding it is blanked out.
    For the lists with the answering passages removed, so that the article-wide checks see what
    such an article would have (the question's other words), not the removed answer."""
    doc_id = question.gold_doc_ids[0]
    document = searcher.index.documents[doc_id]
    text = list(document.text)
    for passage in searcher.index.passages:
        if passage.doc_id == doc_id and contains_answer(passage.text, question.answers):
            text[passage.start:passage.end] = " " * (passage.end - passage.start)
    return ArticleView.of(document.title, "".join(text))


def _candidate_list(searcher: Searcher, retrieved: Retrieved, selection: list[int], question: Question,
                    answerable: bool, kind: str, articles: dict[str, ArticleView] | None = None) -> CandidateList:
    passages = searcher.index.passages
    ids = [retrieved.passage_ids[j] for j in selection]
    features, best = searcher.reranker.features(retrieved.question, ids, retrieved.fused[selection],
                                                retrieved.bm25[selection], retrieved.dense[selection],
                                                retrieved.query_vector)
    labels = np.array([is_hit(passages[p].doc_id, passages[p].text, question.gold_doc_ids, question.answers)
                       for p in ids], dtype=np.int32) if answerable else np.zeros(len(ids), dtype=np.int32)
    article = searcher.index.documents[question.gold_doc_ids[0]].title
    constraints = searcher.reranker.views.constraints(retrieved.question, ids, best, articles)
    return CandidateList(features, labels, article, answerable, constraints.reshape(len(ids), -1),
                         [passages[p].doc_id for p in ids], kind)


def _pick(key: str, options: list[str]) -> str:
    return options[hashlib.sha256(key.encode("utf-8")).digest()[0] % len(options)]


def changed_number(question: str, article: ArticleView) -> str | None:
    """The question with its first year (else its first number) replaced by the nearest one the
    article never mentions: 2025 where the article gives 2023 and 2024."""
    match = YEAR.search(question) or re.search(r"(?<![\d.])\d+(?![\d.])", question)
    if match is None:
        return None
    value = int(match.group())
    for step in (1, -1, 2, -2, 3, -3, 5, 10):
        other = value + step
        if other > 0 and str(other) not in article.numbers:
            return question[:match.start()] + str(other) + question[match.end():]
    return None


def changed_noun(view: QuestionView, article: ArticleView, pool: dict[str, list[str]]) -> str | None:
    """The question with its rarest specific word that the article has replaced by one of the same
    kind (from other articles' questions) that the article does not have."""
    words = [w for w in view.nouns if len(w) >= 2 and article.has(w)]
    if not words:
        return None
    target = max(words, key=lambda w: view.idf[w])
    options = [w for w in pool.get(word_kind(target), []) if not article.has(w) and w not in view.normalized]
    if not options:
        return None
    return view.normalized.replace(target, _pick(view.normalized, options), 1)


def noun_pool(searcher: Searcher, questions: list[Question]) -> dict[str, dict[str, list[str]]]:
    """Per article: the specific words (by kind) of the other articles' questions."""
    by_article: dict[str, dict[str, set[str]]] = {}
    for q in questions:
        for word in searcher.question_view(q.question).nouns:
            if len(word) >= 2:
                by_article.setdefault(q.gold_doc_ids[0], {}).setdefault(word_kind(word), set()).add(word)
    tags = {tag for words in by_article.values() for tag in words}
    return {doc: {tag: sorted(w for other, words in by_article.items() if other != doc
                              for w in words.get(tag, ()))[:2000] for tag in tags}
            for doc in by_article}


def in_other_script(questions: list[Question], to_traditional: bool) -> list[Question]:
    """The questions written in the other script (OpenCC s2t or t2s), answers unchanged."""
    import opencc

    convert = opencc.OpenCC("s2t" if to_traditional else "t2s").convert
    return [Question(q.id + "-script", convert(q.question), q.answers, q.gold_doc_ids, q.type) for q in questions]


def changed_lists(searcher: Searcher, questions: list[Question], every: int = 2,
                  progress: bool = True) -> list[CandidateList]:
    """Unanswerable lists from questions changed off their article's facts (see module text)."""
    pools = noun_pool(searcher, questions)
    changed: list[tuple[Question, str, str]] = []
    for number, question in enumerate(questions):
        if number % every != 1:
            continue
        doc_id = question.gold_doc_ids[0]
        article = searcher.reranker.views.article(doc_id)
        if (text := changed_number(question.question, article)) is not None:
            changed.append((question, text, "number"))
        if (text := changed_noun(searcher.question_view(question.question), article, pools.get(doc_id, {}))):
            changed.append((question, text, "noun"))
    vectors = searcher.embedder.embed_queries([text for _, text, _ in changed])
    lists = []
    for (question, text, kind), vector in tqdm(list(zip(changed, vectors, strict=True)), desc="changed",
                                               disable=not progress):
        retrieved = searcher.retrieve(text, "hybrid", vector, searcher.settings.candidates)
        selection = list(range(min(searcher.settings.rerank_candidates, len(retrieved.passage_ids))))
        lists.append(_candidate_list(searcher, retrieved, selection, question, False, kind))
    return lists


def collect(searcher: Searcher, questions: list[Question], without_gold_every: int = 2,
            progress: bool = True) -> tuple[list[CandidateList], list[SentenceGroup]]:
    passages = searcher.index.passages
    top = searcher.settings.rerank_candidates
    vectors = searcher.embedder.embed_queries([q.question for q in questions])
    lists: list[CandidateList] = []
    groups: list[SentenceGroup] = []
    for number, (question, vector) in enumerate(tqdm(list(zip(questions, vectors, strict=True)),
                                                     desc="candidates", disable=not progress)):
        retrieved = searcher.retrieve(question.question, "hybrid", vector, searcher.settings.candidates)
        gold = set(question.gold_doc_ids)

        normal = list(range(min(top, len(retrieved.passage_ids))))
        answered = _candidate_list(searcher, retrieved, normal, question, True, "asked")
        lists.append(answered)
        if number % without_gold_every == 0:
            others = [j for j, p in enumerate(retrieved.passage_ids) if passages[p].doc_id not in gold][:top]
            lists.append(_candidate_list(searcher, retrieved, others, question, False, "article"))
            hits = set(np.flatnonzero(answered.labels))
            rest = [j for j in range(len(retrieved.passage_ids)) if j not in hits][:top]
            if hits:
                lists.append(_candidate_list(searcher, retrieved, rest, question, False, "gold",
                                             {question.gold_doc_ids[0]: article_without_answers(searcher, question)}))
        for j in np.flatnonzero(answered.labels):
            passage_id = retrieved.passage_ids[j]
            view = searcher.reranker.views[passage_id]
            labels = np.array([contains_answer(passages[passage_id].text[s.span.start - view.span.start:
                                                                          s.span.end - view.span.start],
                                               question.answers) for s in view.sentences], dtype=np.int32)
            if len(labels) > 1 and 0 < labels.sum() < len(labels):
                dense = searcher.reranker.views.sentence_cosines(passage_id, vector)
                groups.append(SentenceGroup(sentence_features(retrieved.question, view, dense), labels))
    return lists, groups
