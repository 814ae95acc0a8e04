"""Text out of the file types people add: .txt, .md, .html, .docx and .pdf (with a text layer).

Each format is read by a well-kept library: BeautifulSoup with Python's own HTML parser (MIT),
python-docx (MIT) and pypdf (BSD-3). What comes out is the raw text, one paragraph per line;
``clean_article`` then cleans it like any corpus article, and the cleaned text is what is
stored and cited. A file of another type, a damaged file, and a file with no text each get a
``FormatError`` naming the file; the library's own exception never reaches the user.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
# Elements after which HTML text starts a new line (inline ones such as <b> and <a> do not).
HTML_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "td", "th", "section", "article",
               "header", "footer", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "figcaption")
HTML_DROPPED = ("script", "style", "noscript", "template", "head", "nav", "svg", "iframe")
# A PDF breaks lines where the page ends them; inside a Chinese sentence that break is not text.
_PDF_LINE_BREAK = re.compile(r"(?<=[\u4e00-\u9fff，、：；“‘（《0-9A-Za-z])\n(?=[\u4e00-\u9fff，。、：；！？”’）》0-9])")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


class FormatError(ValueError):
    """The file cannot give a document; the message names it and says why."""


class UnsupportedFormat(FormatError):
    """The file's type is not one we read (HTTP 415)."""


class NoTextError(FormatError):
    """The file was read but holds no text (a scanned PDF, an empty document)."""


@dataclass(frozen=True)
class Extracted:
    title: str | None  # the file's own title, when it has one
    text: str  # raw text, paragraphs on their own lines, before clean_article


def extract_file(path: Path) -> Extracted:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror})") from exc
    return extract_bytes(data, str(path))


def extract_bytes(data: bytes, filename: str) -> Extracted:
    suffix = Path(filename).suffix.lower()
    readers = {".txt": _text, ".md": _markdown, ".html": _html, ".htm": _html, ".docx": _docx, ".pdf": _pdf}
    reader = readers.get(suffix)
    if reader is None:
        raise UnsupportedFormat(f"{filename}: unsupported file type {suffix or '(none)'!r}; "
                                f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        extracted = reader(data, filename)
    except FormatError:
        raise
    except Exception as exc:  # a damaged file: each library raises its own kinds
        raise FormatError(f"{filename}: cannot be read as {suffix[1:].upper()} ({type(exc).__name__}: "
                          f"{str(exc)[:120]})") from exc
    if not extracted.text.strip():
        hint = " (a scanned PDF has no text layer)" if suffix == ".pdf" else ""
        raise NoTextError(f"{filename}: no text in it{hint}")
    return extracted


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030, the superset of GBK and GB2312."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FormatError(f"{filename}: neither UTF-8 nor GB18030 text; convert it, e.g. iconv -f BIG5 -t UTF-8")


def _text(data: bytes, filename: str) -> Extracted:
    return Extracted(None, decode_text(data, filename))


def _markdown(data: bytes, filename: str) -> Extracted:
    text = decode_text(data, filename)
    heading = _MARKDOWN_HEADING.search(text)
    return Extracted(heading.group(1) if heading else None, text)


def _html(data: bytes, filename: str) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup.find_all(HTML_DROPPED):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(HTML_BLOCKS):
        tag.insert_after("\n")
    if not title:
        heading = soup.find("h1")
        title = heading.get_text(strip=True) if heading else None
    return Extracted(title or None, soup.get_text())


def _docx(data: bytes, filename: str) -> Extracted:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    heading = None
    for block in document.iter_inner_content():  # paragraphs and tables, in the order they appear
        if isinstance(block, Table):
            lines += ["\t".join(cell.text for cell in row.cells) for row in block.rows]
            continue
        lines.append(block.text)
        style = block.style.name if block.style is not None else ""
        if heading is None and block.text.strip() and style.startswith(("Title", "Heading")):
            heading = block.text.strip()
    return Extracted(document.core_properties.title or heading, "\n".join(lines))


def _pdf(data: bytes, filename: str) -> Extracted:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    title = reader.metadata.title if reader.metadata is not None else None
    title = str(title).strip() if title else ""
    text = _PDF_LINE_BREAK.sub("", "\n".join(pages))
    return Extracted(title if title.lower() not in ("", "untitled") else None, text)  # reportlab's default
