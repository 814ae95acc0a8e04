"""Cleaning, tested on the real faults of the bundled articles."""

from __future__ import annotations

import re
import time

import pytest

from index.ingest.cleaning import clean_article, normalize_width
from index.settings import REPO_ROOT

CORPUS = REPO_ROOT / "corpus"


def raw(stem: str) -> str:
    return (CORPUS / f"{stem}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cleaned() -> dict[str, str]:
    return {path.stem: clean_article(path.read_text(encoding="utf-8")) for path in CORPUS.glob("*.txt")}


def test_number_broken_from_its_unit_is_rejoined(cleaned):
    assert "2025\n\n年" in raw("000_ad648a2326587a1a")
    assert "经济运行“底盘”更稳。2025年，嘉兴高新区把稳增长" in cleaned["000_ad648a2326587a1a"]


def test_word_broken_around_a_caption_is_rejoined_and_caption_removed(cleaned):
    text = cleaned["001_6ef850d05338babd"]
    assert "区人大高新区工委专职副主任袁权红" in text
    assert "嘉兴国家高新区城市风光" not in text
    assert "连续3年位列全省高新区第5名" in cleaned["004_87265c0e99f8738f"]


@pytest.mark.parametrize("caption", ["嘉兴国家高新区航拍图", "空港电子信息产业园\n", "科技人才创新园",
                                     "企业智慧生产线", "嘉兴科技城智立方展示馆", "柔电院国家重点实验室"])
def test_image_captions_are_removed(cleaned, caption):
    everything = "\n".join(cleaned.values())
    assert caption.strip() not in everything.split("\n")


def test_photo_credits_and_page_furniture_are_removed(cleaned):
    assert "嘉兴高新区供图" not in cleaned["000_ad648a2326587a1a"]
    assert "本版图片由" not in cleaned["001_6ef850d05338babd"]
    city = cleaned["003_aa809658476baa4e"]
    assert "您当前的位置" not in city and "投资嘉兴 >" not in city
    assert "浏览次数" not in city and not city.endswith("栏目更新")
    assert city.startswith("招商引资，嘉兴绘就“一路繁花”")


def test_paragraph_repeated_in_002_is_kept_once(cleaned):
    text = cleaned["002_f452990c5d0afd35"]
    source = raw("002_f452990c5d0afd35")
    repeated = "翻开“三张清单”，可以清楚地看到"
    assert source.count(repeated) == 2
    assert text.count(repeated) == 1


def test_headings_stay_separate_from_the_paragraph_after_them(cleaned):
    lines = cleaned["000_ad648a2326587a1a"].split("\n")
    assert "高质量发展与招商引资齐头并进" in lines
    assert "强产业" in cleaned["001_6ef850d05338babd"].split("\n")
    assert "亮出空间新布局" in cleaned["002_f452990c5d0afd35"].split("\n")  # markdown '###' stripped


def test_mixed_punctuation_is_unified():
    mixed = "2025年,嘉兴高新区(秀洲)达24.33亿元;时间:10:28"
    assert normalize_width(mixed) == "2025年，嘉兴高新区（秀洲）达24.33亿元；时间：10:28"
    assert normalize_width("1,000 and 3.65") == "1,000 and 3.65"
    assert normalize_width("２０２５年ＧＤＰ") == "2025年GDP"


def _sentences(text: str) -> list[str]:
    """Pieces that end a sentence; captions and headings have no sentence end and are not counted."""
    return [s for s in re.findall(r"[^。！？；]+[。！？；]", text) if len(s) > 12]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize_width(text))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.stem)
def test_no_body_sentence_is_dropped(path):
    """Every sentence of the raw article (after width unification) is still in the cleaned text."""
    cleaned_text = _squash(clean_article(path.read_text(encoding="utf-8")))
    for paragraph in path.read_text(encoding="utf-8").split("\n"):
        for sentence in _sentences(_squash(paragraph)):
            assert sentence in cleaned_text, sentence


def test_cleaning_is_idempotent(cleaned):
    for text in cleaned.values():
        assert clean_article(text) == text


def test_cleaning_is_linear_when_many_lines_continue_one_paragraph():
    # Appending each continuation to a growing string took 47 s for this input (quadratic).
    started = time.perf_counter()
    cleaned = clean_article("嘉兴，\n" * 320_000)
    assert time.perf_counter() - started < 20
    assert cleaned == "嘉兴，" * 320_000
