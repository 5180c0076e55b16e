"""Stage 1: read a corpus folder into clean ``Article`` values.

Reads ``.txt`` and ``.md`` (optional ``---`` front matter) and ``.html`` (main text
extracted); anything else is skipped with a warning. Cleaning removes page
boilerplate by generic rules (audio-player prompts, comment forms, share counters,
tag lines, stray emoji bullets) and never edits the files themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from .errors import CorpusError
from .language import union
from .text import _OTHER_CUES, detect_language
from .types import Article

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_FILE_BYTES = 20 * 1024 * 1024

# --- boilerplate rules ---------------------------------------------------------
# Each pattern matches a whole (stripped) line; they describe kinds of page furniture,
# not any one article's wording.
_BOILERPLATE_LINES = [
    re.compile(p, re.I)
    for p in (
        r".{0,40}\b(audio|podcast)\s+player\b.{0,40}",
        r"(getting|loading) (your|the) .{0,40}(player|audio).{0,20}",
        r"(écouter|ecouter|listen to) (cet |this )?(article|story).{0,30}",
        r"(laisser|laissez|leave|post) (un |a )?(commentaire|comment|reply|réponse)\.?",
        r"(votre|your) (adresse (e-?mail|de messagerie|courriel)|e-?mail address) .{0,160}",
        r"(les )?champs obligatoires sont (indiqués|marqués) avec.{0,5}",
        r"required fields are marked.{0,5}",
        r"(total|share|shares|partager|partages|partagez|tweet|pin|j'aime|like|likes|email|imprimer|print)\s*:?\s*\d*",
        r"\d+\s*(shares?|partages?|comments?|commentaires?|vues|views)?",
        r"(lire aussi|à lire aussi|read (also|more)|voir aussi|see also)\s*:?.{0,120}",
        r"(abonnez-vous|subscribe|inscrivez-vous à notre newsletter|sign up for our newsletter).{0,80}",
        r"(publicité|advertisement|sponsored|contenu sponsorisé)",
    )
]
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\u2b00-\u2bff\ufe0f\u200d]+"
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
#: closed-class words (stop words of the shipped languages, cues of a few others):
#: any prose is full of them
_FUNCTION_WORDS = union("stopwords") | _OTHER_CUES
#: Generic properties of prose in an alphabetic language, not of one corpus: letters are
#: over 90% of its visible characters and function words 30-50% of its words; random
#: characters, base64 or random letter strings fall far below one or the other.
MIN_LETTER_SHARE = 0.7
MIN_FUNCTION_WORD_SHARE = 0.15
#: under this many words a text is too short to judge (a headline and one sentence)
NOISE_MIN_WORDS = 100
_TAG_ITEM = re.compile(r"^[\w’'\-. ]{1,40}$", re.UNICODE)


def _is_tag_line(line: str) -> bool:
    """'OpenAI, intelligence artificielle, IA': keyword lists with no sentence in them."""
    if line.endswith((".", "!", "?", ":", "…")) or "," not in line:
        return False
    items = [i.strip() for i in line.split(",")]
    return len(items) >= 3 and all(i and _TAG_ITEM.match(i) and len(i.split()) <= 3 for i in items)


def clean_text(raw: str) -> str:
    """Remove page boilerplate and normalise spacing; keep every sentence verbatim."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    out: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and (
            any(p.fullmatch(stripped) for p in _BOILERPLATE_LINES) or _is_tag_line(stripped)
        ):
            continue
        if _EMOJI.search(line):
            # Emoji used as bullets or decoration: drop them, keep the words.
            line = _EMOJI.sub("", line)
            line = re.sub(r"^(\s*[-•*]?)\s+", r"\1 ", line) if line.strip() else ""
        out.append(line.rstrip())
    cleaned = "\n".join(out)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    return cleaned.strip()


# --- front matter ----------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def split_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between ``---`` fences, and the body after them."""
    m = _FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    meta: dict[str, str] = {}
    for line in m.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key.strip().lower()] = value
    return meta, raw[m.end():]


# --- HTML ------------------------------------------------------------------------


class _MainText(HTMLParser):
    """Collects visible text, preferring <article>/<main>, skipping page furniture."""

    SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg",
            "button", "iframe", "template", "figure"}
    BLOCK = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
             "li", "ul", "ol", "br", "blockquote", "tr", "table", "pre", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: dict[str, list[str]] = {"all": [], "main": []}
        self.skip_depth = 0
        self.main_depth = 0
        self.meta: dict[str, str] = {}
        self._in_title = False
        self._in_h1 = False
        self.title = ""
        self.h1 = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            content = a.get("content") or ""
            mapping = {"og:title": "title", "og:url": "url", "og:site_name": "outlet",
                       "article:published_time": "date", "date": "date", "author": "author"}
            if key in mapping and content:
                self.meta.setdefault(mapping[key], content.strip())
            return
        if tag == "link" and (a.get("rel") or "").lower() == "canonical" and a.get("href"):
            self.meta.setdefault("url", a["href"])
        if tag == "html" and a.get("lang"):
            self.meta.setdefault("language", a["lang"][:2].lower())
        if tag in self.SKIP:
            self.skip_depth += 1
        if tag in {"article", "main"}:
            self.main_depth += 1
        if tag == "title":
            self._in_title = True
        if tag == "h1":
            self._in_h1 = True
        if tag in self.BLOCK:
            self._emit("\n\n" if tag not in {"br", "li"} else "\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip_depth:
            self.skip_depth -= 1
        if tag in {"article", "main"} and self.main_depth:
            self.main_depth -= 1
        if tag == "title":
            self._in_title = False
        if tag == "h1":
            self._in_h1 = False
        if tag in self.BLOCK:
            self._emit("\n\n" if tag != "li" else "\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
            return
        if self.skip_depth:
            return
        if self._in_h1:
            self.h1 += data
        self._emit(re.sub(r"\s+", " ", data))

    def _emit(self, s: str) -> None:
        self.parts["all"].append(s)
        if self.main_depth:
            self.parts["main"].append(s)


def html_to_text(html: str) -> tuple[dict[str, str], str]:
    """Main text of an HTML page and the metadata it states about itself."""
    parser = _MainText()
    parser.feed(html)
    parser.close()
    body = "".join(parser.parts["main"] or parser.parts["all"])
    body = "\n".join(line.strip() for line in body.split("\n"))
    meta = dict(parser.meta)
    title = (parser.h1 or parser.title or meta.get("title", "")).strip()
    if title:
        meta["title"] = re.sub(r"\s+", " ", title)
    return meta, body


# --- reading -----------------------------------------------------------------------


def content_hash(text: str, title: str = "") -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode("utf-8")).hexdigest()[:16]


def read_article(path: Path) -> Article:
    """One file to one ``Article``; raises ``CorpusError`` with the file's name."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES}-byte limit per file")
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path} is not UTF-8 (byte {exc.start}); convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in {".html", ".htm"}:
        meta, body = html_to_text(raw)
    else:
        meta, body = split_front_matter(raw)
    text = clean_text(body)
    if not text:
        raise CorpusError(f"{path} has no text after cleaning")
    title = meta.pop("title", "").strip() or _first_line_title(text) or path.stem
    language = meta.pop("language", "") or meta.pop("lang", "") or detect_language(text[:2000])
    return Article(
        id=article_id(meta.pop("id", "") or path.stem),
        title=title,
        text=text,
        path=path,
        language=language,
        metadata={k: v for k, v in meta.items() if v},
        content_hash=content_hash(text, title),
    )


def _first_line_title(text: str) -> str:
    first = text.split("\n", 1)[0].strip()
    return first if 0 < len(first) <= 120 and not first.endswith(".") else ""


def article_id(raw: str) -> str:
    """An id safe to show, log and put in a URL: no control characters, one-space runs."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"} else ch for ch in raw)
    return " ".join(cleaned.split()) or "article"


def looks_like_prose(text: str) -> bool:
    """Is ``text`` written language rather than noise (random characters, a dump, base64)?

    Prose is mostly letters, and many of its words are the small closed-class words
    (articles, prepositions) every language is made of: random text has neither. A
    text of under ``NOISE_MIN_WORDS`` words is only refused when it has no word at all.
    """
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return False
    letters = sum(ch.isalpha() for ch in visible) / len(visible)
    tokens = [t.lower() for t in _WORD.findall(text)]
    if not tokens:
        return False
    if len(tokens) < NOISE_MIN_WORDS:
        return True
    common = sum(t in _FUNCTION_WORDS for t in tokens) / len(tokens)
    return letters >= MIN_LETTER_SHARE and common >= MIN_FUNCTION_WORD_SHARE


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(root)
    except (OSError, ValueError):
        return False
    return True


def corpus_files(folder: Path) -> list[Path]:
    """The supported article files of ``folder`` (recursively, sorted), never leaving it.

    Hidden files and folders are skipped; a symlink whose target lies outside the
    folder is skipped with a warning (a corpus must not read ``/etc/passwd``).
    """
    root = folder.resolve()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):  # does not descend into linked folders
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                log.warning("skipping %s: a linked folder (copy the articles into the corpus)", Path(dirpath) / d)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith("."):
                continue
            if not _inside(path, root):
                log.warning("skipping %s: it points outside the corpus folder %s", path, folder)
                continue
            if not path.is_file():
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                log.warning("skipping %s: unsupported file type (use .txt, .md or .html)", path)
                continue
            out.append(path)
    return sorted(out)


def load_corpus(folder: Path, *, strict: bool = False) -> list[Article]:
    """All readable articles of ``folder`` (recursively), sorted by id.

    Unreadable files are skipped with a warning (``strict=True`` raises instead), so a
    single broken file never blocks the rest of an archive; so are files that are not
    prose (noise) and files whose cleaned text repeats an earlier file's. Two files with
    the same stem (``x.md`` beside ``x.txt``) both get indexed, the later one under its
    file name (``x.txt``). An empty result raises.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist; put .txt, .md or .html articles there")
    articles: dict[str, Article] = {}
    seen_texts: dict[str, Path] = {}
    for path in corpus_files(folder):
        try:
            article = read_article(path)
            if not looks_like_prose(article.text):
                raise CorpusError(f"{path} does not look like written text (noise, code or a data dump)")
        except CorpusError as exc:
            if strict:
                raise
            log.warning("skipping %s", exc)
            continue
        body = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
        if body in seen_texts:
            log.warning("skipping %s: same text as %s", path, seen_texts[body])
            continue
        if article.id in articles:
            alternative = article_id(path.name)
            if alternative in articles:
                log.warning("skipping %s: the article id %r is already used by %s", path, article.id,
                            articles[article.id].path)
                continue
            log.warning("%s and %s share the id %r: indexing the second as %r", articles[article.id].path,
                        path, article.id, alternative)
            article = dataclasses.replace(article, id=alternative)
        seen_texts[body] = path
        articles[article.id] = article
    if not articles:
        raise CorpusError(f"corpus folder {folder} has no readable articles (.txt, .md or .html)")
    return [articles[k] for k in sorted(articles)]
