"""Questions and history are validated in one place (assistant/conversation.py)."""

from __future__ import annotations

import random
import string

import pytest

from assistant import InvalidQuestionError
from assistant.conversation import clean_question, history_questions, is_follow_up, subject_of


def test_lone_surrogate_is_a_typed_error_not_an_encoding_crash():
    with pytest.raises(InvalidQuestionError) as err:
        clean_question("AWS \ud800", 1000)
    assert err.value.reason == "encoding"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("question,reason", [
    (42, "type"), ("   ", "empty"), ("a\x00b", "control"), ("?!", "no_words"), ("x" * 1001, "too_long"),
])
def test_every_rule_has_a_reason(question, reason):
    with pytest.raises(InvalidQuestionError) as err:
        clean_question(question, 1000)
    assert err.value.reason == reason


@pytest.mark.parametrize("history", [5, 3.2, {"about": "content"}, "What is it?", [1, 2], [["q", "a"], 7],
                                     [{"role": "user", "content": 12}], [b"bytes"]])
def test_unexpected_history_shapes_are_refused(history):
    with pytest.raises(InvalidQuestionError) as err:
        history_questions(history)
    assert err.value.reason == "history"


def test_accepted_history_shapes_give_the_user_questions():
    expected = ["Who signed?", "For how much?"]
    assert history_questions(expected) == expected
    assert history_questions([("Who signed?", "X"), ["For how much?", "Y"]]) == expected
    messages = [{"role": "user", "content": "Who signed?"}, {"role": "assistant", "content": "X"},
                {"role": "user", "content": [{"type": "text", "text": "For how much?"}]},
                {"role": "user", "content": {"path": "upload.png"}}]
    assert history_questions(messages) == expected
    assert history_questions(None) == [] and history_questions([]) == []
    # a broken character in a past turn is dropped, not fatal to the new question
    assert history_questions(["Who \ud800signed?"]) == ["Who signed?"]


def test_history_budget_reads_only_the_last_turns_and_characters():
    rng = random.Random(1)
    huge = " ".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(25_000))  # ~225 KB
    many = [f"question {i}" for i in range(10_000)] + [huge]
    got = history_questions(many, max_turns=3, max_chars=500)
    assert got[:2] == ["question 9998", "question 9999"]
    assert len(got) == 3 and len(got[-1]) == 500


def test_follow_up_detection_and_subject_on_small_cases():
    assert is_follow_up("And how long does it last?", "en")
    assert is_follow_up("Et combien cela coûte-t-il ?", "fr")
    assert not is_follow_up("How much is the deal between Amazon and Netflix worth?", "en")
    assert subject_of("How much is the Netflix deal worth?", "And how long does it last?") == [
        "Netflix", "deal", "worth"]
    assert subject_of("Combien vaut l'accord de Renault ?", "Et sa durée ?") == ["vaut", "accord", "Renault"]


@pytest.mark.parametrize("question, language", [
    ("Et pour quel montant ?", "fr"),             # a follow-up opening
    ("And when?", "en"),
    ("Pour quel montant ?", "fr"),                # an ellipsis: one word beyond the question words
    ("When?", "en"),
    ("Combien coûte-t-elle ?", "fr"),             # a pronoun with no subject of its own
    ("Where are they going to be installed?", "en"),
    ("Quelle puissance ces machines auront-elles ?", "fr"),  # a demonstrative
])
def test_questions_that_lean_on_the_previous_turn(question, language):
    assert is_follow_up(question, language)


@pytest.mark.parametrize("question, language", [
    ("Que dit le ministre de la réforme des retraites ?", "fr"),  # an article-led noun phrase
    ("What did the minister say about the pension reform?", "en"),
    ("Quelle est la capitale de l'Australie ?", "fr"),            # a name after an elision
    ("Who runs Renault?", "en"),                                  # a name
    ("Pourquoi Renault ferme-t-il son usine ?", "fr"),            # a name beats the pronoun
    ("Quels légumes faut-il pour une ratatouille ?", "fr"),
])
def test_questions_that_name_their_own_subject_stand_alone(question, language):
    assert not is_follow_up(question, language)


def test_subject_skips_question_words_elisions_and_what_the_question_has():
    assert subject_of("Quel est le salaire du ministre de l'économie ?", "Et celui du ministre ?") == [
        "salaire", "économie"]
    assert subject_of("When did Renault open the Douai plant?", "And where?") == ["Renault", "open", "Douai",
                                                                                 "plant"]
    assert subject_of("How much?", "And when?") == []


def test_subject_strips_every_elision_the_index_strips():
    """The elision rule is text.ELISION's: « lorsqu'Orange » keeps its name (it used to be
    dropped, as the subject rule knew only l', d' and qu')."""
    assert subject_of("Que disait le patron lorsqu'Orange a signé ?", "Et ensuite ?") == [
        "disait", "patron", "Orange", "signé"]
    assert subject_of("Pourquoi Tesla s'inquiète jusqu'Orléans ?", "Et ailleurs ?") == [
        "Tesla", "inquiète", "Orléans"]


def test_follow_up_after_a_200_kb_history_uses_a_bounded_subject(qa):
    rng = random.Random(0)
    huge = " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(25_000))
    answer = qa.ask("And how long does it last?", history=[("What about " + huge + "?", "…")])
    assert answer.understood_question.startswith("And how long does it last? (")
    assert len(answer.understood_question) <= qa.settings.max_question_chars


def test_ask_refuses_hostile_history_before_any_work(qa):
    for bad in (7, {"about": "content"}, "a string"):
        with pytest.raises(InvalidQuestionError):
            qa.ask("How much is the deal worth?", history=bad)
    with pytest.raises(InvalidQuestionError) as err:
        qa.ask("AWS \ud800")
    assert err.value.reason == "encoding"


def test_subject_stops_within_its_budget():
    assert subject_of("What did Netflix and Amazon sign in Paris?", "And when?", max_chars=14) == [
        "Netflix", "Amazon"]
