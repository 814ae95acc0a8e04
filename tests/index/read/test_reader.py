"""The reader on real text: offsets exact into the document, inside the span read."""

from __future__ import annotations

import pytest

from index.read.reader import Reader, load_reader

DOCUMENTS = [
    # simplified, with a blank line and full-width punctuation before the answer
    ("嘉兴高新区把什么工作作为“一号工程”？",
     "2025年，嘉兴高新区经济运行稳中向好。\n\n嘉兴高新区坚持把招商引资作为“一号工程”，全年签约优质项目33个。"),
    # traditional
    ("國立故宮博物院收藏了多少件文物？", "臺灣的「國立故宮博物院」位於臺北，收藏了約69萬件文物，ＡＢＣ１２３。"),
]


@pytest.fixture(scope="module")
def reader(settings, embedder) -> Reader:
    return load_reader(settings, embedder.model_dir)


@pytest.mark.parametrize(("question", "document"), DOCUMENTS)
def test_an_answer_is_exact_text_of_the_document_inside_the_span(reader, question, document):
    prefix = "前言。" * 5
    text = prefix + document + "后记。"
    start, end = len(prefix), len(prefix) + len(document)
    reading = reader.read(question, text, start, end)
    if reading.answer is not None:
        a = reading.answer
        assert a.text == text[a.start:a.end] and a.text.strip() == a.text
        assert start <= a.start < a.end <= end
        assert 0.5 <= a.score <= 1  # marked only when the span beats the null score
    else:
        assert reading.margin < 0


def test_the_reader_finds_the_answer_of_a_plain_question(reader):
    question, document = DOCUMENTS[0]
    reading = reader.read(question, document, 0, len(document))
    assert reading.answer is not None and "招商引资" in reading.answer.text


def test_a_passage_longer_than_a_window_is_read_to_its_end(reader, settings):
    filler = "这一年，园区的道路、绿化和公共设施建设持续推进，服务水平不断提升。" * 20  # ~640 characters
    document = filler + "嘉兴高新区坚持把招商引资作为“一号工程”。"
    reading = reader.read("嘉兴高新区把什么工作作为“一号工程”？", document, 0, len(document))
    assert reading.answer is not None and reading.answer.start >= len(filler)


def test_a_question_longer_than_the_window_is_still_read(reader):
    question = "我想知道，" * 120 + "嘉兴高新区把什么工作作为“一号工程”？"
    document = DOCUMENTS[0][1]
    reading = reader.read(question, document, 0, len(document))
    assert reading.best is not None and "招商引资" in reading.best.text  # its last tokens ask the question


def test_one_script_keeps_every_offset():
    from index.read.reader import one_script

    question, passage = one_script("國立故宮博物院收藏了多少件文物？", "臺灣的「國立故宮博物院」收藏了約69萬件文物。")
    assert question == "国立故宫博物院收藏了多少件文物？"
    assert len(passage) == len("臺灣的「國立故宮博物院」收藏了約69萬件文物。")


def test_a_traditional_question_is_answered_from_a_simplified_article(reader):
    document = DOCUMENTS[0][1]
    reading = reader.read("嘉興高新區把什麼工作作為“一號工程”？", document, 0, len(document))
    assert reading.answer is not None and reading.answer.text == document[reading.answer.start:reading.answer.end]
    assert "招商引资" in reading.answer.text


def test_a_focused_reading_reads_around_the_evidence_and_keeps_offsets(embedder, settings):
    focused = load_reader(settings.model_copy(update={"reader_context_tokens": 48}), embedder.model_dir,
                          tokenizer=embedder.untruncated_tokenizer())
    filler = "这一年，园区的道路、绿化和公共设施建设持续推进，服务水平不断提升。"
    sentence = "嘉兴高新区坚持把招商引资作为“一号工程”。"
    document = filler * 6 + sentence + filler * 6
    focus = (document.index(sentence), document.index(sentence) + len(sentence))
    reading = focused.read("嘉兴高新区把什么工作作为“一号工程”？", document, 0, len(document), focus)
    assert reading.answer is not None and "招商引资" in reading.answer.text
    assert reading.answer.text == document[reading.answer.start:reading.answer.end]
    # the focus far from the answer: the answer is not read, so it cannot be marked
    away = focused.read("嘉兴高新区把什么工作作为“一号工程”？", document, 0, len(document), (0, 10))
    assert away.best is None or "招商引资" not in away.best.text


def test_the_embedders_tokenizer_serves_the_reader_uncut_and_stays_cut_for_the_encoder(embedder):
    shared = embedder.untruncated_tokenizer()
    long_text = "嘉兴高新区坚持把招商引资作为一号工程。" * 80  # more tokens than the encoder's maximum
    assert len(shared.encode(long_text, add_special_tokens=False).ids) > embedder.max_seq_length
    assert len(embedder.tokenizer.encode(long_text).ids) <= embedder.max_seq_length
