"""Text out of real .docx, .pdf, .html, .md and .txt files made here, and clear errors for the rest."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from index.ingest.cleaning import clean_article
from index.ingest.documents import document_from_upload, load_paths
from index.ingest.formats import FormatError, NoTextError, UnsupportedFormat, extract_bytes, extract_file

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # installed by `make browser`
FIRST = "嘉兴新区今年种了三千棵银杏树。"
SECOND = "第二句话说的是一座新的图书馆。"


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("嘉兴新区的变化", level=1)
    document.add_paragraph(FIRST + SECOND)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "银杏树", "三千棵"
    document.save(path)
    return path


def make_pdf(path: Path, lines: list[str]) -> Path:
    assert CJK_FONT.is_file(), f"{CJK_FONT} is missing: run make browser (it installs fonts-wqy-zenhei)"
    pdfmetrics.registerFont(TTFont("wqy", str(CJK_FONT), subfontIndex=0))
    page = canvas.Canvas(str(path))
    page.setFont("wqy", 12)
    for i, line in enumerate(lines):
        page.drawString(72, 700 - 20 * i, line)
    if not lines:
        page.rect(72, 600, 100, 50)  # a drawing, no text layer
    page.save()
    return path


def test_docx_paragraphs_tables_and_heading_title(tmp_path):
    extracted = extract_file(make_docx(tmp_path / "a.docx"))
    assert extracted.title == "嘉兴新区的变化"
    assert FIRST + SECOND in extracted.text and "银杏树\t三千棵" in extracted.text


def test_pdf_text_layer_in_chinese(tmp_path):
    extracted = extract_file(make_pdf(tmp_path / "a.pdf", [FIRST, SECOND]))
    text = clean_article(extracted.text)
    assert FIRST in text and SECOND in text
    assert extracted.title is None  # reportlab's "untitled" is not a title


def test_html_drops_scripts_styles_and_navigation_and_keeps_blocks_apart(tmp_path):
    page = (f"<html><head><title>网页标题</title><style>p{{color:red}}</style></head><body><nav>首页 导航</nav>"
            f"<p>嘉兴<b>新区</b>今年种了三千棵银杏树。</p><script>var secret = 1;</script><div>{SECOND}</div>"
            "</body></html>")
    (tmp_path / "a.html").write_text(page, encoding="utf-8")
    extracted = extract_file(tmp_path / "a.html")
    assert extracted.title == "网页标题"
    assert FIRST in extracted.text and SECOND in extracted.text
    assert not any(junk in extracted.text for junk in ("secret", "color", "导航"))
    assert extracted.text.index(FIRST) < extracted.text.index(SECOND)


def test_markdown_title_and_text_encodings(tmp_path):
    (tmp_path / "a.md").write_text(f"# 新区纪事\n\n{FIRST}\n", encoding="utf-8")
    assert extract_file(tmp_path / "a.md").title == "新区纪事"
    (tmp_path / "bom.txt").write_bytes("\ufeff".encode() + FIRST.encode("utf-8"))
    (tmp_path / "gb.txt").write_bytes(FIRST.encode("gb18030"))
    assert extract_file(tmp_path / "bom.txt").text == FIRST
    assert extract_file(tmp_path / "gb.txt").text == FIRST


def test_unsupported_empty_scanned_and_damaged_files_are_clear_errors(tmp_path):
    with pytest.raises(UnsupportedFormat, match=r"book\.xlsx: unsupported file type '\.xlsx'"):
        extract_bytes(b"PK\x03\x04", "book.xlsx")
    with pytest.raises(NoTextError, match="empty.txt: no text"):
        extract_bytes(b"  \n", "empty.txt")
    with pytest.raises(NoTextError, match="no text layer"):
        extract_file(make_pdf(tmp_path / "scan.pdf", []))
    good_docx = make_docx(tmp_path / "good.docx").read_bytes()
    good_pdf = make_pdf(tmp_path / "good.pdf", [FIRST]).read_bytes()
    for name, data in (("broken.docx", good_docx[: len(good_docx) // 2]), ("broken.pdf", good_pdf[:200]),
                       ("noise.docx", b"not a zip at all")):
        with pytest.raises(FormatError, match=name):
            extract_bytes(data, name)


def test_an_upload_becomes_a_cleaned_document_whose_text_is_cited(tmp_path):
    data = io.BytesIO()
    make_docx(tmp_path / "x.docx")
    data.write((tmp_path / "x.docx").read_bytes())
    document = document_from_upload(data.getvalue(), "x.docx", None, None, "嘉兴日报", "2026-01")
    assert (document.doc_id, document.title, document.source) == ("x", "嘉兴新区的变化", "嘉兴日报")
    start = document.text.index(FIRST)
    assert document.text[start:start + len(FIRST)] == FIRST


def test_a_folder_of_mixed_files_loads_the_good_ones_and_lists_the_rest(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    make_docx(folder / "one.docx")
    make_pdf(folder / "two.pdf", [FIRST])
    (folder / "three.md").write_text(f"# 三\n{SECOND}", encoding="utf-8")
    (folder / "README.md").write_text("not an article", encoding="utf-8")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "records.jsonl").write_text('{"id": "r1", "title": "记录", "text": "记录的正文。"}\n{bad\n',
                                          encoding="utf-8")
    loaded = load_paths([folder, tmp_path / "missing.txt"])
    assert sorted(d.doc_id for d in loaded.documents) == ["one", "r1", "three", "two"]
    problems = " | ".join(map(str, loaded.problems))
    for expected in ("bad.pdf", "empty.txt", "records.jsonl:2", "missing.txt: not found"):
        assert expected in problems, problems
