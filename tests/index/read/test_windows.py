"""The reader's windows: every passage token keeps exact offsets; long inputs are strided, never cut."""

from __future__ import annotations

import pytest

from index.read.reader import load_reader_tokenizer
from index.read.windows import MIN_CONTEXT_TOKENS, batch_arrays, focus_range, make_windows, special_ids


@pytest.fixture(scope="module")
def tokenizer(embedder):
    return load_reader_tokenizer(embedder.model_dir)


TEXTS = [
    "臺灣的「國立故宮博物院」收藏了約69萬件文物，ＡＢＣ１２３。",  # traditional, full-width letters and digits
    "2025年，嘉兴高新区规上工业企业研发经费预计达24.33亿元。\n\n同比增长22.41%！  （新华社）",  # blank line, spaces
    "《红楼梦》——曹雪芹著；第1～5回……“宝玉”说：‘好！’",
]


@pytest.mark.parametrize("text", TEXTS)
def test_offsets_cover_the_passage_text_exactly(tokenizer, text):
    [window] = make_windows(tokenizer, "问题是什么？", text, 320, 128, 64)
    pieces = [text[s:e] for s, e in window.offsets]
    assert all(pieces)  # no empty pieces: each can start or end an answer (white space is trimmed off)
    covered = {i for s, e in window.offsets for i in range(s, e)}
    assert covered >= {i for i, ch in enumerate(text) if not ch.isspace()}  # no character is left unread
    assert max(e for _, e in window.offsets) <= len(text)
    assert all(a[0] <= b[0] for a, b in zip(window.offsets, window.offsets[1:], strict=False))  # in order
    assert window.input_ids[0] == special_ids(tokenizer).bos and window.input_ids[-1] == special_ids(tokenizer).eos
    assert window.context_end == len(window.input_ids) - 1


def test_a_long_passage_is_read_in_overlapping_windows(tokenizer):
    text = "嘉兴高新区坚持把招商引资作为一号工程。" * 40  # ~760 characters
    windows = make_windows(tokenizer, "嘉兴高新区把什么作为一号工程？", text, 128, 32, 64)
    assert len(windows) > 4
    assert all(len(w.input_ids) <= 128 for w in windows)
    assert windows[0].offsets[0, 0] == 0 and windows[-1].offsets[-1, 1] == len(text)
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.offsets[0, 0] < before.offsets[-1, 1]  # they overlap: no answer falls between two


def test_a_long_question_still_leaves_room_for_the_passage(tokenizer):
    question = "请问" * 300 + "嘉兴高新区把什么作为一号工程？"
    text = "嘉兴高新区坚持把招商引资作为一号工程。" * 10
    windows = make_windows(tokenizer, question, text, 128, 32, 64)
    assert all(len(w.offsets) >= MIN_CONTEXT_TOKENS for w in windows[:-1])
    assert windows[-1].offsets[-1, 1] == len(text)  # the passage is read to its end


def test_batches_pad_and_mask(tokenizer):
    windows = make_windows(tokenizer, "谁？", "短。", 64, 16, 16) + make_windows(tokenizer, "谁？", "长" * 30, 64, 16,
                                                                                16)
    ids, mask = batch_arrays(windows, special_ids(tokenizer).pad)
    assert ids.shape == mask.shape and ids.shape[0] == 2
    assert mask[0].sum() == len(windows[0].input_ids) and mask[1].sum() == len(windows[1].input_ids)


LONG = ("园区的道路、绿化和公共设施建设持续推进。" * 12 + "嘉兴高新区坚持把招商引资作为一号工程。"
        + "服务水平不断提升，企业满意度提高。" * 12)


def test_focus_range_holds_the_focus_within_the_budget(tokenizer):
    focus_start = LONG.index("嘉兴高新区坚持")
    focus_end = focus_start + len("嘉兴高新区坚持把招商引资作为一号工程。")
    for before_share in (0.0, 0.33, 1.0):
        a, b = focus_range(tokenizer, LONG, focus_start, focus_end, 48, before_share)
        assert a <= focus_start and focus_end <= b  # the evidence sentence is read whole
        [window] = make_windows(tokenizer, "问题？", LONG[a:b], 320, 128, 64)
        assert len(window.offsets) <= 49  # about the budget (the cut text may tokenize one piece apart)
    early = focus_range(tokenizer, LONG, focus_start, focus_end, 48, 1.0)
    late = focus_range(tokenizer, LONG, focus_start, focus_end, 48, 0.0)
    assert early[0] < late[0] and late[0] == focus_start  # the room goes before or after the focus


def test_focus_range_reads_a_short_passage_or_a_long_focus_whole(tokenizer):
    assert focus_range(tokenizer, TEXTS[1], 3, 8, 96, 0.33) == (0, len(TEXTS[1]))
    a, b = focus_range(tokenizer, LONG, 0, len(LONG) - 5, 48, 0.33)  # the focus alone exceeds the budget
    assert a == 0 and b >= len(LONG) - 5


def test_focus_range_at_the_passage_edges_gives_the_room_to_the_other_side(tokenizer):
    a, b = focus_range(tokenizer, LONG, 0, 5, 48, 0.5)
    assert a == 0 and b > 60
    a, b = focus_range(tokenizer, LONG, len(LONG) - 5, len(LONG), 48, 0.5)
    assert b == len(LONG) and a < len(LONG) - 60
