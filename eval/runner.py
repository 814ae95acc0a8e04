"""Run a question set through the searcher in each mode and compute the metrics."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from eval.metrics import hit_at_k, ndcg_at_k, reciprocal_rank_at_k, unanswerable_separation
from eval.questions import Question
from eval.relevance import contains_answer, is_hit
from index.search import Searcher, SearchResult

DEPTH = 10  # results fetched per question
SHOWN = 5  # what a user sees by default: the mean passage length is over these
ACCURACY_METRICS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "evidence_hit@1")


@dataclass
class QuestionOutcome:
    question: Question
    results: list[SearchResult]
    relevance: list[bool]
    n_relevant: int

    @property
    def first_hit_rank(self) -> int | None:
        return next((rank for rank, rel in enumerate(self.relevance, start=1) if rel), None)

    @property
    def top_score(self) -> float:
        return self.results[0].score if self.results else float("-inf")

    def metrics(self) -> dict[str, float]:
        top = self.results[0] if self.results else None
        evidence = top is not None and self.relevance[0] and contains_answer(top.evidence.text, self.question.answers)
        shown = self.results[:SHOWN]
        return {
            "hit@1": hit_at_k(self.relevance, 1),
            "hit@3": hit_at_k(self.relevance, 3),
            "hit@5": hit_at_k(self.relevance, 5),
            "mrr@10": reciprocal_rank_at_k(self.relevance, 10),
            "ndcg@10": ndcg_at_k(self.relevance, self.n_relevant, 10),
            "evidence_hit@1": 1.0 if evidence else 0.0,
            "mean_passage_chars": statistics.fmean(len(r.text) for r in shown) if shown else 0.0,
        }


@dataclass
class ModeReport:
    mode: str
    overall: dict[str, float]
    by_type: dict[str, dict[str, float]]
    unanswerable: dict[str, float]
    outcomes: list[QuestionOutcome] = field(repr=False)


def _mean_metrics(outcomes: list[QuestionOutcome]) -> dict[str, float]:
    rows = [o.metrics() for o in outcomes]
    summary = {name: round(statistics.fmean(r[name] for r in rows), 4) for name in rows[0]} if rows else {}
    summary["questions"] = len(rows)
    return summary


class RelevantCounter:
    """How many passages of the index answer a question (the ideal for nDCG), cached per document."""

    def __init__(self, searcher: Searcher) -> None:
        self.by_doc: dict[str, list[str]] = defaultdict(list)
        for passage in searcher.index.passages:
            self.by_doc[passage.doc_id].append(passage.text)

    def __call__(self, question: Question) -> int:
        return sum(contains_answer(text, question.answers)
                   for doc_id in question.gold_doc_ids for text in self.by_doc.get(doc_id, []))


def evaluate_mode(searcher: Searcher, questions: list[Question], mode: str,
                  count_relevant: RelevantCounter) -> ModeReport:
    responses = searcher.search_many([q.question for q in questions], DEPTH, mode)
    answerable, unanswerable = [], []
    for question, response in zip(questions, responses, strict=True):
        relevance = [is_hit(r.doc_id, r.text, question.gold_doc_ids, question.answers) for r in response.results]
        outcome = QuestionOutcome(question, response.results, relevance,
                                  count_relevant(question) if question.answerable else 0)
        (answerable if question.answerable else unanswerable).append(outcome)
    by_type: dict[str, list[QuestionOutcome]] = defaultdict(list)
    for outcome in answerable:
        by_type[outcome.question.type].append(outcome)
    separation, threshold = unanswerable_separation([o.top_score for o in answerable],
                                                     [o.top_score for o in unanswerable])
    return ModeReport(
        mode=mode,
        overall=_mean_metrics(answerable),
        by_type={kind: _mean_metrics(items) for kind, items in sorted(by_type.items())},
        unanswerable={"questions": len(unanswerable), "share_below_threshold": round(separation, 4),
                      "threshold": round(threshold, 6)},
        outcomes=answerable + unanswerable,
    )


def evaluate(searcher: Searcher, questions: list[Question], modes: tuple[str, ...]) -> dict[str, ModeReport]:
    count_relevant = RelevantCounter(searcher)
    return {mode: evaluate_mode(searcher, questions, mode, count_relevant) for mode in modes}
