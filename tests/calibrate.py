"""Print the best sentence score of each development question, to set the abstention threshold.

Run: python tests/calibrate.py [index_dir]. Not a test: a measurement tool.
"""

import sys

from assistant import Assistant, Settings
from assistant.answer import score_sentences

sys.path.insert(0, "tests")
from dev_questions import ANSWERABLE, UNANSWERABLE  # noqa: E402


def best(qa, q):
    passages, qvec = qa._retrieve(q, 8, "hybrid")
    from assistant.text import detect_language
    scored = score_sentences(qa._index, q, qvec, passages, detect_language(q), terms=qa._key_terms(q))
    return scored[0] if scored else None


def main():
    settings = Settings.load({"index_dir": sys.argv[1] if len(sys.argv) > 1 else "index"})
    qa = Assistant.load(settings=settings)
    rows = []
    for q, lang, art, facts in ANSWERABLE:
        b = best(qa, q)
        text = qa.article(b.article_id).text[b.start:b.end]
        ok = b.article_id == art and any(f.lower() in text.lower() for f in facts)
        rows.append((b.score, "ANS", ok, q, f"cov={b.coverage:.2f} " + text[:80]))
    for q, lang in UNANSWERABLE:
        b = best(qa, q)
        rows.append((b.score, "UNA", None, q, f"cov={b.coverage:.2f} " + qa.article(b.article_id).text[b.start:b.end][:80]))
    for r in sorted(rows, reverse=True):
        print(f"{r[0]:.3f} {r[1]} {str(r[2]):5} {r[3][:60]:60} | {r[4]}")


if __name__ == "__main__":
    main()
