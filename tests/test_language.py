"""Language packs: compound questions split into their parts."""

from assistant.language import pack


def test_a_conjunction_before_an_interrogative_splits_the_question():
    """Each part opens with a capital, as a question asked on its own."""
    assert pack("en").parts("How long is the lease, and in which city is the stadium?") == (
        "How long is the lease?", "In which city is the stadium?")
    assert pack("fr").parts("Quand le pont a-t-il ouvert, et combien a-t-il coûté ?") == (
        "Quand le pont a-t-il ouvert ?", "Combien a-t-il coûté ?")


def test_a_french_part_may_open_with_que_or_qu_est_ce():
    assert pack("fr").parts("Quand le pont a-t-il ouvert, et qu’est-ce qu’un pont suspendu ?") == (
        "Quand le pont a-t-il ouvert ?", "Qu’est-ce qu’un pont suspendu ?")
    assert pack("fr").parts("Qui a construit le pont, et que coûte le péage ?") == (
        "Qui a construit le pont ?", "Que coûte le péage ?")


def test_two_questions_in_a_row_are_two_parts():
    assert pack("fr").parts("Qui a fondé la ville ? En quelle année la gare a-t-elle ouvert ?") == (
        "Qui a fondé la ville ?", "En quelle année la gare a-t-elle ouvert ?")


def test_a_plain_conjunction_or_a_part_without_content_does_not_split():
    assert pack("en").parts("Which rivers and lakes border the town?") == ()
    assert pack("en").parts("Who won the race and when?") == ()
    assert pack("fr").parts("Quel est le prix du billet et de l'abonnement ?") == ()
