"""Run a question set through the searcher in each mode and compute the metrics."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from eval.metrics import answer_char_f1, hit_at_k, ndcg_at_k, reciprocal_rank_at_k, unanswerable_separation
from eval.modes import NO_RERANK
from eval.questions import Question
from eval.relevance import contains_answer, is_hit
from index.ingest.documents import Document
from index.search import Searcher, SearchResult

DEPTH = 10  # results fetched per question
SHOWN = 5  # what a user sees by default: the mean passage length is over these
ACCURACY_METRICS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "evidence_hit@1", "answer_f1@1")


@dataclass
class QuestionOutcome:
    question: Question
    results: list[SearchResult]
    relevance: list[bool]
    n_relevant: int
    no_answer: bool | None = None

    @property
    def first_hit_rank(self) -> int | None:
        return next((rank for rank, rel in enumerate(self.relevance, start=1) if rel), None)

    @property
    def top_score(self) -> float:
        """The best result's confidence when the ranking stage gave one, else its score."""
        if not self.results:
            return float("-inf")
        top = self.results[0]
        return top.confidence if top.confidence is not None else top.score

    @property
    def overlapping_results(self) -> bool:
        """Two results of one article share text."""
        return any(first.end > second.start for first, second in same_article_pairs(self.results))

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
            # the reader's answer in the first result (0 when it marked none or the reader is off)
            "answer_f1@1": answer_char_f1(top.answer.text if top is not None and top.answer else None,
                                          self.question.answers),
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
    """How many answering passages one response can hold (the ideal for nDCG), cached per document.

    A response never holds two neighbouring passages of an article (index/merge.py), so a run
    of n consecutive answering passages can give at most ceil(n / 2) results.
    """

    def __init__(self, searcher: Searcher) -> None:
        self.by_doc: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for passage in searcher.index.passages:
            self.by_doc[passage.doc_id].append((passage.ordinal, passage.text))

    def __call__(self, question: Question) -> int:
        total = 0
        for doc_id in question.gold_doc_ids:
            ordinals = [o for o, text in self.by_doc.get(doc_id, []) if contains_answer(text, question.answers)]
            runs = [1] if ordinals else []
            for previous, current in zip(ordinals, ordinals[1:], strict=False):
                if current == previous + 1:
                    runs[-1] += 1
                else:
                    runs.append(1)
            total += sum((run + 1) // 2 for run in runs)
        return total


def _no_answer_summary(answerable: list[QuestionOutcome], unanswerable: list[QuestionOutcome]) -> dict:
    """How often "no answer" is said: for unanswerable questions (should be high), answerable (low)."""
    def share(outcomes: list[QuestionOutcome]) -> float | None:
        flags = [o.no_answer for o in outcomes if o.no_answer is not None]
        return round(sum(flags) / len(flags), 4) if flags else None

    return {"unanswerable_flagged": share(unanswerable), "answerable_flagged": share(answerable)}


def same_article_pairs(results: list[SearchResult]) -> Iterator[tuple[SearchResult, SearchResult]]:
    """Every two results of one article, the one that starts first (or, of equal starts, ends first) first."""
    for i, a in enumerate(results):
        for b in results[i + 1:]:
            if a.doc_id == b.doc_id:
                yield (a, b) if (a.start, a.end) <= (b.start, b.end) else (b, a)


def continues(results: list[SearchResult], documents: dict[str, Document]) -> bool:
    """One result goes on where another of its article ends, with at most white space between
    (the part of a passage that a better result did not show): no text repeated, counted apart."""
    return any(first.end <= second.start and not documents[first.doc_id].text[first.end:second.start].strip()
               for first, second in same_article_pairs(results))


def evaluate_mode(searcher: Searcher, questions: list[Question], mode: str,
                  count_relevant: RelevantCounter) -> ModeReport:
    search_mode = mode.removesuffix(NO_RERANK)
    rerank = False if mode.endswith(NO_RERANK) else None
    responses = searcher.search_many([q.question for q in questions], DEPTH, search_mode, rerank)
    answerable, unanswerable = [], []
    for question, response in zip(questions, responses, strict=True):
        relevance = [is_hit(r.doc_id, r.text, question.gold_doc_ids, question.answers) for r in response.results]
        outcome = QuestionOutcome(question, response.results, relevance,
                                  count_relevant(question) if question.answerable else 0, response.no_answer)
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
                      "threshold": round(threshold, 6), **_no_answer_summary(answerable, unanswerable),
                      "responses_with_overlap": sum(o.overlapping_results for o in answerable + unanswerable),
                      "responses_continued": sum(continues(r.results, searcher.index.documents) for r in responses)},
        outcomes=answerable + unanswerable,
    )


def gold_passage_f1(searcher: Searcher, questions: list[Question]) -> float | None:
    """The answer char-F1 of the reader's best span when it reads the answering passage itself (the
    first passage of the gold article holding the answer): what reading loses, apart from what
    retrieval and "no answer" lose. None without a reader."""
    if searcher.reader is None:
        return None
    first_holding: dict[str, list] = defaultdict(list)
    for passage in searcher.index.passages:
        first_holding[passage.doc_id].append(passage)
    scores = []
    for question in questions:
        if not question.answerable:
            continue
        passage = next((p for doc in question.gold_doc_ids for p in first_holding.get(doc, [])
                        if contains_answer(p.text, question.answers)), None)
        if passage is None:
            scores.append(0.0)
            continue
        reading = searcher.reader.read(question.question, searcher.index.documents[passage.doc_id].text,
                                       passage.start, passage.end)
        scores.append(answer_char_f1(reading.best.text if reading.best else None, question.answers))
    return round(statistics.fmean(scores), 4) if scores else None


def evaluate(searcher: Searcher, questions: list[Question], modes: tuple[str, ...]) -> dict[str, ModeReport]:
    count_relevant = RelevantCounter(searcher)
    reports = {mode: evaluate_mode(searcher, questions, mode, count_relevant) for mode in modes}
    if "hybrid" in reports and (gold := gold_passage_f1(searcher, questions)) is not None:
        reports["hybrid"].overall["gold_passage_answer_f1"] = gold
    return reports
