"""The eval's checks of a response's results: text shared, or one result going on where another ends."""

from __future__ import annotations

from eval.questions import Question
from eval.runner import QuestionOutcome, continues
from index.ingest.documents import Document
from index.search import Evidence, SearchResult

TEXT = "第一句讲嘉兴。 第二句讲高新区。第三句讲经开区。"
DOCUMENTS = {"a": Document("a", "标题", TEXT), "b": Document("b", "标题", TEXT)}


def result(doc_id: str, start: int, end: int) -> SearchResult:
    return SearchResult(1, 1.0, None, doc_id, "标题", "", start, end, TEXT[start:end],
                        Evidence(start, end, TEXT[start:end]), {})


def overlapping(results: list[SearchResult]) -> bool:
    question = Question("q", "嘉兴", ("嘉兴",), ("a",), "fact")
    return QuestionOutcome(question, results, [False] * len(results), 1).overlapping_results


def test_results_of_one_article_sharing_text_overlap_and_ones_that_touch_continue():
    first, second, third = result("a", 0, 7), result("a", 8, 16), result("a", 16, len(TEXT))
    assert overlapping([second, result("a", 5, 10)]) and overlapping([result("a", 10, 12), second])
    assert not overlapping([first, second, third]) and not overlapping([first, result("b", 0, 7)])
    assert continues([third, second], DOCUMENTS)  # in either order
    assert continues([first, second], DOCUMENTS)  # only white space between them
    assert not continues([first, third], DOCUMENTS) and not continues([first, result("b", 8, 16)], DOCUMENTS)
