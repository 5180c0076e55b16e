"""The facade every face (CLI, web chat, evaluation, other tools) calls.

``Assistant`` owns one loaded index and one embedder for the life of the process;
it is safe to share between threads (the embedder serialises its own calls and
the index is read-only once loaded).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from .answer import AnswerConfig, compose, scored_sentences, select
from .config import Settings
from .conversation import History, clean_question, history_questions, is_follow_up, subject_of
from .embed import LocalEmbedding, load_embedder
from .index import BuildReport, IndexData, build_index, load_index, resolve
from .language import pack
from .reader import build_candidates, shipped_reader
from .retrieve import retrieve as hybrid_retrieve
from .text import content_words, detect_language, fold
from .types import Answer, Article, Passage

log = logging.getLogger(__name__)

class Assistant:
    """Answers questions about the indexed articles, citing exact passages.

    >>> qa = Assistant.load()                       # doctest: +SKIP
    >>> qa.ask("How much is the AWS deal worth?").citations[0].quote  # doctest: +SKIP
    """

    def __init__(self, index: IndexData, embedder: LocalEmbedding, settings: Settings) -> None:
        self.settings = settings
        self._index = index
        self._embedder = embedder
        self._reader = shipped_reader(str(settings.reader_model) if settings.reader_model else None)
        if self._reader.embedder_id != embedder.embedder_id:
            log.warning("the reader was trained with %s, the index uses %s: answer scores and "
                        "abstention are less reliable", self._reader.embedder_id, embedder.embedder_id)
        threshold = settings.abstain_threshold
        if threshold is None:
            threshold = self._reader.threshold
        self._reference = self._reader.reference_for(embedder.embedder_id, index)
        self._answer_cfg = AnswerConfig(threshold=threshold, keep_probability=self._reader.keep_probability,
                                        max_sentences=settings.max_answer_sentences,
                                        hedge_below=settings.hedge_below)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None, *, settings: Settings | None = None,
             embedder: LocalEmbedding | None = None) -> "Assistant":
        """Open the index at ``path`` (default: ``settings.index_dir``, i.e. ``index/``).

        Raises IndexNotFoundError, IndexCorruptError or IndexMismatchError with the
        command that fixes it.
        """
        settings = settings or Settings.load()
        if path is not None:
            settings = settings.replace(index_dir=Path(path))
        resolve(settings.index_dir)  # fail fast, before loading a model
        embedder = embedder or load_embedder(settings.embedder, settings.embed_threads)
        index = load_index(settings.index_dir, embedder.embedder_id, settings)
        if settings.llm_provider:
            from .generate.llm import check

            check(settings)  # a broken LLM configuration fails now, not mid-answer
        return cls(index, embedder, settings)

    @staticmethod
    def build_index(settings: Settings | None = None, *, rebuild: bool = False,
                    progress: bool = False, embedder: LocalEmbedding | None = None,
                    ray_address: str | None = None) -> BuildReport:
        """Build or update the index (only new or changed articles are embedded).

        ``ray_address`` spreads the embedding over a Ray cluster (``""``: start one locally).
        """
        return build_index(settings or Settings.load(), rebuild=rebuild, progress=progress,
                           embedder=embedder, ray_address=ray_address)

    @classmethod
    def load_or_build(cls, settings: Settings | None = None, *, progress: bool = False,
                      rebuild: bool = False) -> "Assistant":
        """Open the index, building it first when it does not exist yet (with ``rebuild``,
        building it again from the corpus folder in any case)."""
        from .errors import IndexNotFoundError

        settings = settings or Settings.load()
        embedder = load_embedder(settings.embedder, settings.embed_threads)
        if rebuild:
            build_index(settings, rebuild=True, progress=progress, embedder=embedder)
        else:
            try:
                resolve(settings.index_dir)
            except IndexNotFoundError:
                log.info("no index at %s: building it", settings.index_dir)
                build_index(settings, progress=progress, embedder=embedder)
        return cls.load(settings=settings, embedder=embedder)

    @staticmethod
    def check_question(question: Any, settings: Settings | None = None) -> str:
        """The question as it will be asked, or InvalidQuestionError (before any loading)."""
        return clean_question(question, (settings or Settings.load()).max_question_chars)

    # -- read access --------------------------------------------------------------------

    def article(self, article_id: str) -> Article:
        try:
            return self._index.articles[article_id]
        except KeyError:
            raise KeyError(f"no article {article_id!r} in the index") from None

    @property
    def articles(self) -> list[Article]:
        return list(self._index.articles.values())

    @property
    def index_info(self) -> dict[str, Any]:
        return dict(self._index.manifest)

    # -- retrieval ----------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None, *, mode: str | None = None) -> list[Passage]:
        """The ``k`` passages most relevant to ``question`` (hybrid by default)."""
        q = clean_question(question, self.settings.max_question_chars)
        return self._retrieve(q, k or self.settings.top_k, mode or self.settings.retrieval)[0]

    def _retrieve(self, q: str, k: int, mode: str):
        qvec = self._embedder.embed_queries([q])[0] if mode != "bm25" else None
        passages = hybrid_retrieve(self._index, q, qvec, k=k, candidates=max(self.settings.candidates, k),
                                   mode=mode, rrf_k=self.settings.rrf_k,
                                   min_sentence_words=self.settings.min_sentence_words)
        return passages, qvec

    # -- answering ------------------------------------------------------------------------

    def _read(self, q: str, qvec, passages, language: str) -> tuple[list, float]:
        """The reader's scored sentences for ``q`` over ``passages``, and its confidence."""
        if qvec is None:  # bm25-only retrieval still needs the vector to rank sentences
            qvec = self._embedder.embed_queries([q])[0]
        candidates = build_candidates(self._index, q, qvec, passages, language, self._reference)
        if candidates is None:
            return [], 0.0
        result = self._reader.read(candidates)
        return scored_sentences(self._index, result), result.confidence

    def _answer_parts(self, q: str, language: str, mode: str, chosen: list,
                      confidence: float) -> tuple[list, float]:
        """A compound question ("how much ..., and where ...?") quotes, part by part, what each
        part the reader finds answerable would quote if asked alone; then what the whole
        question chose, while the answer holds fewer than ``max_sentences`` plus one per part."""
        parts = pack(language).parts(q)
        if not parts:
            return chosen, confidence
        cfg = self._answer_cfg
        picked: list = []
        seen: set[int] = set()
        part_confidences = []
        for part in parts:
            passages, qvec = self._retrieve(part, 8, mode)
            scored, conf = self._read(part, qvec, passages, language)
            new = [c for c in select(self._index, scored, conf, part, cfg) if c.index not in seen]
            if new:
                picked.extend(new)
                seen.update(c.index for c in new)
                part_confidences.append(conf)
        if not picked:
            return chosen, confidence
        rest = [c for c in chosen if c.index not in seen]
        out = picked + rest[:max(0, cfg.max_sentences + len(parts) - len(picked))]
        if not chosen:
            confidence = min(part_confidences)
        return out, confidence

    def ask(self, question: str, history: History = None, *, k: int | None = None,
            mode: str | None = None) -> Answer:
        """Answer ``question`` from the articles, every sentence cited, or abstain.

        ``history`` holds the previous turns (strings, pairs or role/content
        messages; only the last ``settings.history_turns`` questions are read, any
        other shape raises InvalidQuestionError); a follow-up such as "And how long does it last?" borrows the
        previous question's subject for retrieval, and the answer says so in
        ``understood_question``. With an LLM configured the answer is generated and
        verified (``mode == "generated"``); otherwise, or when generation fails, it is
        extractive.
        """
        answer = None
        for item in self.stream(question, history, k=k, mode=mode):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: History = None, *, k: int | None = None,
               mode: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text in pieces as it is produced, then the final ``Answer``.

        The pieces joined equal ``Answer.text`` except when a generated answer falls
        back to the extractive one (then the final ``Answer`` is what to show).
        """
        t0 = time.perf_counter()
        q = clean_question(question, self.settings.max_question_chars)
        previous = history_questions(history, max_turns=self.settings.history_turns,
                                     max_chars=self.settings.max_question_chars)
        language = detect_language(q)
        notices: list[str] = []
        search_q, understood = self._contextualise(q, previous, language, notices)
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval
        passages, qvec = self._retrieve(search_q, max(k, 8), mode)
        t1 = time.perf_counter()
        scored, confidence = self._read(search_q, qvec, passages, language)
        chosen = select(self._index, scored, confidence, search_q, self._answer_cfg)
        if understood is None:  # a follow-up's search text carries its borrowed subject
            chosen, confidence = self._answer_parts(q, language, mode, chosen, confidence)
        extractive = compose(self._index, q, language, chosen, passages[:k], understood=understood,
                             confidence=confidence, hedge_below=self._answer_cfg.hedge_below)
        answer = extractive
        if self.settings.llm_provider and not extractive.abstained:
            generated, removed, share = yield from self._generate(
                q, language, search_q, scored, passages[:k], understood, previous, notices)
            answer = _with(generated or _with(extractive, removed=removed), verified_share=share)
        else:
            for piece in re.findall(r"\S+\s*", extractive.text):
                yield piece
        t2 = time.perf_counter()
        timings = {"retrieve_s": round(t1 - t0, 4), "answer_s": round(t2 - t1, 4),
                   "total_s": round(t2 - t0, 4)}
        yield _with(answer, timings=timings, notices=tuple(answer.notices) + tuple(notices))

    def _generate(self, q, language, search_q, scored, related, understood, previous, notices):
        """Generated answer: yields verified text pieces; returns (Answer or None, removed
        sentences, share of generated sentences that passed verification or None)."""
        from .errors import AssistantError
        from .generate import GenerationResult, stream_generate
        from .generate.reply import Renumbering
        from .types import Citation

        evidence = []
        for n, s in enumerate(scored[: self.settings.llm_evidence], start=1):
            article = self._index.articles[s.article_id]
            evidence.append(Citation(number=n, article_id=s.article_id, title=article.title,
                                     quote=article.text[s.start:s.end], start=s.start, end=s.end,
                                     score=round(float(s.score), 4)))
        result = None
        renumber = Renumbering()  # evidence number -> citation number, by first appearance
        try:
            for item in stream_generate(search_q if understood else q, language, evidence, self.settings,
                                        history=previous):
                if isinstance(item, GenerationResult):
                    result = item
                else:
                    yield renumber(item)
        except AssistantError as exc:
            log.warning("generated answer failed: %s", exc)
            notices.append(_FALLBACK[language].format(why=str(exc)))
            return None, (), None
        share = result.verified_share if result is not None else None
        if result is None or result.fell_back or (not result.text.strip() and not result.abstained):
            notices.append(_FALLBACK[language].format(why=_UNVERIFIED[language]))
            return None, (result.removed if result else ()), share
        if result.abstained:
            return Answer(question=q, text=result.text, citations=(), abstained=True, language=language,
                          mode="generated", related=tuple(related), understood_question=understood,
                          removed=result.removed), result.removed, share
        for old in result.used:
            renumber.number(old)
        text = renumber(result.text)
        by_number = {c.number: c for c in evidence}
        citations = tuple(
            Citation(number=renumber.numbers[old], article_id=by_number[old].article_id, title=by_number[old].title,
                     quote=by_number[old].quote, start=by_number[old].start, end=by_number[old].end,
                     score=by_number[old].score)
            for old in result.used
        )
        return Answer(question=q, text=text, citations=citations, abstained=False, language=language,
                      mode="generated", related=tuple(related), understood_question=understood,
                      removed=result.removed), result.removed, share

    def _contextualise(self, q: str, previous: list[str], language: str,
                       notices: list[str]) -> tuple[str, str | None]:
        if not previous or not is_follow_up(q, language):
            return q, None
        if self.settings.llm_provider:
            from .errors import AssistantError
            from .generate import condense_question

            try:
                rewritten = condense_question(q, previous, language, self.settings)
                known = {fold(w) for w in content_words(" ".join([q, *previous[-2:]]))}
                grounded = any(fold(w) in known for w in content_words(rewritten))
                if rewritten and rewritten != q and grounded:
                    return rewritten, rewritten
                if not grounded:
                    log.info("ignoring an LLM rewrite that shares no word with the conversation")
            except AssistantError as exc:
                log.warning("follow-up rewrite failed: %s", exc)
        about = pack(language).frames["about"]
        subject = subject_of(previous[-1], q, self.settings.max_question_chars - len(q) - len(about) - 3)
        if not subject:
            return q, None
        search = f"{q} ({about} {' '.join(subject)})"
        return search, search


    # -- the corpus as a list, narrowing, reloading, adding and removing ------------------

    def article_infos(self) -> list[dict[str, Any]]:
        """One small JSON-ready record per article (id, title, language, chars, and the
        date/outlet/url/author its metadata gives), sorted by title."""
        out = []
        for a in self._index.articles.values():
            meta = dict(a.metadata)
            out.append({"id": a.id, "title": a.title, "language": a.language, "chars": len(a.text),
                        **{k: meta[k] for k in ("date", "outlet", "source", "url", "author") if meta.get(k)}})
        return sorted(out, key=lambda r: (fold(r["title"]), r["id"]))

    def focused(self, article_ids: Sequence[str] | None) -> "Assistant":
        """An assistant that answers from ``article_ids`` only (``None`` or every article:
        ``self``). It shares the model; the narrowed index is cached per choice."""
        if not article_ids or set(article_ids) >= set(self._index.articles):
            return self
        from .focus import subset_index

        key = frozenset(article_ids)
        cache = self._index.cache.setdefault("focused", {})
        found = cache.get(key)
        if found is None:
            found = Assistant(subset_index(self._index, key), self._embedder, self.settings)
            if len(cache) >= 16:
                cache.pop(next(iter(cache)))
            cache[key] = found
        return found

    @property
    def index_version(self) -> str:
        """The name of the index version folder this assistant answers from."""
        return Path(self._index.path).name

    def reloaded(self) -> "Assistant":
        """A new assistant over the index version ``current`` points to now (sharing the
        model), or ``self`` when that is still the version in use. Callers swap their
        reference to it in one assignment, so every question sees one version only."""
        if resolve(self.settings.index_dir).resolve() == Path(self._index.path).resolve():
            return self
        index = load_index(self.settings.index_dir, self._embedder.embedder_id, self.settings)
        return Assistant(index, self._embedder, self.settings)

    def reload(self) -> bool:
        """Switch this assistant to the newest index version; True when it changed.

        For scripts; a server should prefer ``reloaded()`` and swap its reference, so a
        question already being answered finishes on the version it started with."""
        fresh = self.reloaded()
        if fresh is self:
            return False
        self._index, self._reference = fresh._index, fresh._reference
        return True

    @staticmethod
    def add_articles(files: Sequence[str | Path | tuple[str | Path, str]],
                     settings: Settings | None = None, *, progress: bool = False):
        """Copy ``files`` (paths, or ``(path, original name)`` pairs) into the corpus
        folder after checking them with the ingestion's rules, then update the index.

        Returns a ``LibraryReport`` (added ids, rejected files with reasons, the build).
        Raises CorpusError when no file could be added."""
        from .errors import CorpusError
        from .library import LibraryReport, add_files

        settings = settings or Settings.load()
        pairs = [(Path(f[0]), str(f[1])) if isinstance(f, tuple) else (Path(f), Path(f).name) for f in files]
        existing = [p.stem for p in Path(settings.corpus_dir).glob("*")] if Path(settings.corpus_dir).is_dir() else []
        added, rejected = add_files(settings.corpus_dir, pairs, existing_ids=existing,
                                    max_bytes=settings.max_upload_bytes)
        if not added:
            reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected) or "no file given"
            raise CorpusError(f"nothing added ({reasons})")
        report = build_index(settings, progress=progress)
        return LibraryReport(added=tuple(added), rejected=tuple(rejected), build=report)

    @staticmethod
    def remove_article(article_id: str, settings: Settings | None = None, *, progress: bool = False):
        """Delete the article's file from the corpus folder and update the index."""
        from .errors import CorpusError
        from .library import LibraryReport, remove_file

        settings = settings or Settings.load()
        index = load_index(settings.index_dir, None, settings)
        article = index.articles.get(article_id)
        if article is None:
            raise CorpusError(f"no article {article_id!r} in the index at {settings.index_dir}; "
                              "see `assistant list`")
        remove_file(settings.corpus_dir, article.path, article_id)
        report = build_index(settings, progress=progress)
        return LibraryReport(removed=(article_id,), build=report)

_FALLBACK = {
    "fr": "Réponse générée indisponible ({why}) : voici la réponse extractive.",
    "en": "Generated answer unavailable ({why}): showing the extractive answer.",
}
_UNVERIFIED = {
    "fr": "ses phrases n'ont pas passé la vérification des citations",
    "en": "its sentences failed citation checks",
}


def _with(answer: Answer, **changes: Any) -> Answer:
    import dataclasses

    return dataclasses.replace(answer, **changes)
