"""Training material from one benchmark: candidate lists with relevance labels, and the
sentences of answering passages with answer labels.

Every question gives one list: the fused top candidates, exactly as search sees them.
Every other question also gives two lists with no answer in them, for the confidence
model: one as if its article were missing from the index (its passages removed), and
one as if only the answering passages were missing (the rest of the article stays: the
hard case, an on-topic question whose particular fact the articles do not give).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from eval.questions import Question
from eval.relevance import contains_answer, is_hit
from index.rank.features import sentence_features
from index.search import Retrieved, Searcher


@dataclass
class CandidateList:
    features: np.ndarray  # (candidates, PASSAGE_FEATURES)
    labels: np.ndarray  # 1 where the candidate answers the question
    article: str  # the gold article's title: folds never split an article
    answerable: bool  # False for the list with the gold passages removed


@dataclass
class SentenceGroup:
    features: np.ndarray  # (sentences, SENTENCE_FEATURES) of one answering passage
    labels: np.ndarray  # 1 where the sentence holds the answer


def _candidate_list(searcher: Searcher, retrieved: Retrieved, selection: list[int], question: Question,
                    answerable: bool) -> CandidateList:
    passages = searcher.index.passages
    ids = [retrieved.passage_ids[j] for j in selection]
    features, _ = searcher.reranker.features(retrieved.question, ids, retrieved.fused[selection],
                                             retrieved.bm25[selection], retrieved.dense[selection],
                                             retrieved.query_vector)
    labels = np.array([is_hit(passages[p].doc_id, passages[p].text, question.gold_doc_ids, question.answers)
                       for p in ids], dtype=np.int32)
    article = searcher.index.documents[question.gold_doc_ids[0]].title
    return CandidateList(features, labels, article, answerable)


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
        answered = _candidate_list(searcher, retrieved, normal, question, True)
        lists.append(answered)
        if number % without_gold_every == 0:
            others = [j for j, p in enumerate(retrieved.passage_ids) if passages[p].doc_id not in gold][:top]
            lists.append(_candidate_list(searcher, retrieved, others, question, False))
            hits = set(np.flatnonzero(answered.labels))
            rest = [j for j in range(len(retrieved.passage_ids)) if j not in hits][:top]
            if hits:
                lists.append(_candidate_list(searcher, retrieved, rest, question, False))
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
