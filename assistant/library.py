"""Adding and removing articles: the corpus folder is the source of truth.

``add_files`` checks every file with the ingestion's own rules (``read_article``:
type, size, UTF-8, text left after cleaning), gives it a safe file name inside the
corpus folder and copies it there; ``remove_article`` deletes the file an indexed
article came from. Both then update the index incrementally (only the new article
is embedded) and the new index version replaces the old one atomically, so a chat
that is running keeps answering from the old version until it switches.
Nothing is ever written outside the corpus folder.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import CorpusError
from .ingest import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, read_article

log = logging.getLogger(__name__)

#: accepted for uploads and ``assistant add`` (the ingestion reads a few more aliases).
UPLOAD_SUFFIXES = (".txt", ".md", ".html")
#: the upload limit per file (the ingestion's own per-file limit is larger).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Rejected:
    """A file that was not added, and why (one line)."""

    name: str
    reason: str


@dataclass(frozen=True)
class LibraryReport:
    """What an add or a remove did (``build`` is the index update's report, if any)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    build: object | None = None

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"added {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        for r in self.rejected:
            parts.append(f"rejected {r.name}: {r.reason}")
        if self.build is not None:
            parts.append(f"index: {self.build.summary()}")
        return "\n".join(parts) or "nothing to do"


def safe_name(name: str) -> str:
    """A file name that cannot leave the folder or surprise a shell: the base name
    only, NFC, letters/digits/``-_.``, no leading dot, at most 80 characters + suffix."""
    base = unicodedata.normalize("NFC", os.path.basename(str(name).replace("\\", "/")))
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("._-")[:80] or "article"
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())
    return f"{stem}.{suffix}" if suffix else stem


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_file(path: Path, name: str | None = None, *, max_bytes: int = MAX_UPLOAD_BYTES):
    """The ``Article`` the file would give, or CorpusError with a one-line reason."""
    shown = name or path.name
    suffix = Path(shown).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise CorpusError(f"{shown}: unsupported file type {suffix or '(none)'}; use .txt, .md or .html")
    if not path.is_file():
        raise CorpusError(f"{shown}: not a file")
    size = path.stat().st_size
    if size > min(max_bytes, MAX_FILE_BYTES):
        raise CorpusError(f"{shown}: {size} bytes is over the {min(max_bytes, MAX_FILE_BYTES)}-byte limit")
    # read under the final suffix, so the same rules as the index build apply
    with tempfile.TemporaryDirectory(prefix="assistant-check-") as tmp:
        probe = Path(tmp) / safe_name(shown)
        shutil.copyfile(path, probe)
        try:
            return read_article(probe)
        except CorpusError as exc:
            raise CorpusError(str(exc).replace(str(probe), shown)) from None


def add_files(corpus_dir: Path, files: Iterable[tuple[Path, str]], *, existing_ids: Iterable[str] = (),
              max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[list[str], list[Rejected]]:
    """Copy each valid ``(path, original name)`` into ``corpus_dir``; returns the new
    article ids and the rejected files. Never overwrites a file; never writes outside."""
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    taken = set(existing_ids)
    added: list[str] = []
    rejected: list[Rejected] = []
    for path, name in files:
        shown = os.path.basename(str(name)) or "file"
        try:
            article = check_file(Path(path), shown, max_bytes=max_bytes)
        except CorpusError as exc:
            rejected.append(Rejected(shown, str(exc).split(": ", 1)[-1]))
            continue
        target = corpus_dir / safe_name(shown)
        stem, suffix = target.stem, target.suffix
        n = 1
        while target.exists() or target.stem in taken or any(
                target.with_suffix(s).exists() for s in SUPPORTED_SUFFIXES):
            n += 1
            target = corpus_dir / f"{stem}-{n}{suffix}"
        if not _inside(corpus_dir, target):  # pragma: no cover - safe_name keeps it inside
            rejected.append(Rejected(shown, "unsafe file name"))
            continue
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        article_id = article.id if article.id != Path(safe_name(shown)).stem else target.stem
        taken.add(article_id)
        added.append(article_id)
        log.info("added %s as %s", shown, target)
    return added, rejected


def remove_file(corpus_dir: Path, article_path: Path | None, article_id: str) -> Path:
    """Delete the file of an indexed article (only if it lies inside ``corpus_dir``)."""
    corpus_dir = Path(corpus_dir)
    if article_path is None or not Path(article_path).exists():
        raise CorpusError(f"the file of article {article_id!r} is no longer in {corpus_dir}")
    if not _inside(corpus_dir, Path(article_path)):
        raise CorpusError(f"article {article_id!r} comes from {article_path}, outside {corpus_dir}; "
                          "remove it there")
    Path(article_path).unlink()
    return Path(article_path)
