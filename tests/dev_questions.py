"""Questions of the end-to-end tests (none of them repeats, or paraphrases, one of
eval/questions.jsonl: ``tests/test_evaluation.py`` checks it). Nothing is fitted on
them: the reader and its threshold are trained on PIAF (scripts/train_reader.py).
Each answerable item names the article that must be
cited and a figure or name the answer must contain (any of the variants).
"""

AWS, GOOGLE, ORACLE, AMD, BROADCOM = (
    "002_d468078014d47073",
    "001_c9db50b74f4de0a7",
    "000_fef07ad1a1daaed3",
    "003_d6d8b022efafad72",
    "004_7bb09fc7173c324d",
)

ANSWERABLE = [
    # (question, language, article, accepted variants of the key fact)
    ("Combien vaut l'accord entre OpenAI et AWS ?", "fr", AWS, ["38 milliards"]),
    ("How much is the AWS deal worth?", "en", AWS, ["38 milliards"]),
    ("Quelle est la durée du contrat signé avec Amazon Web Services ?", "fr", AWS, ["sept ans", "2031"]),
    ("For how many years did OpenAI commit to Amazon's cloud?", "en", AWS, ["sept ans", "2031"]),
    ("Quand OpenAI prévoit-elle d'être rentable ?", "fr", AWS, ["2029"]),
    ("How much has Microsoft invested in OpenAI according to the AWS article?", "en", AWS, ["13 milliards"]),
    ("Quelle part du capital d'AMD OpenAI pourrait-elle détenir ?", "fr", AMD, ["10 %"]),
    ("Which AMD chips are mentioned in the partnership?", "en", AMD, ["MI450"]),
    ("De combien l'action Broadcom a-t-elle progressé après l'annonce ?", "fr", BROADCOM, ["9 %"]),
    ("How much power will the Broadcom accelerators represent?", "en", BROADCOM, ["10 gigawatts"]),
    ("Combien d'utilisateurs ChatGPT compte-t-il ?", "fr", BROADCOM, ["800 millions"]),
    ("How many people use ChatGPT worldwide?", "en", BROADCOM, ["800 millions"]),
    ("Où se trouve le centre de données qu'OpenAI veut louer à Oracle ?", "fr", ORACLE, ["Abilene"]),
    ("Where is the data center OpenAI wants to rent from Oracle?", "en", ORACLE, ["Abilene"]),
    ("Combien de puces GB200 Microsoft doit-il fournir ?", "fr", ORACLE, ["300"]),
    ("How much funding did OpenAI recently raise?", "en", ORACLE, ["6,6 milliards"]),
    ("Dans quels pays l'infrastructure Google Cloud est-elle déjà active ?", "fr", GOOGLE, ["Japon", "Norvège"]),
    ("How much is OpenAI's five-year deal with CoreWeave worth?", "en", GOOGLE, ["12 milliards"]),
    ("Quel montant vise le projet Stargate ?", "fr", GOOGLE, ["500 milliards"]),
    ("Who is the head of AWS?", "en", AWS, ["Matt Garman"]),
    ("Qui est la directrice financière d'OpenAI ?", "fr", ORACLE, ["Sarah Friar"]),
    ("Which chip foundry process did OpenAI reserve capacity on?", "en", ORACLE, ["A16"]),
    # paraphrases that share few words with the article
    ("Quel est le nom du patron d'Amazon Web Services cité dans l'article ?", "fr", AWS, ["Matt Garman"]),
    ("À combien s'élèvent les engagements totaux annoncés par Sam Altman ?", "fr", AWS, ["1 400 milliards"]),
    ("Quel chiffre d'affaires OpenAI projette-t-il pour 2024 ?", "fr", AWS, ["13 milliards"]),
    ("Quels usages les GPU Nvidia d'AWS serviront-ils ?", "fr", AWS, ["inférence", "entraînement"]),
    ("Avec quelles entreprises OpenAI conçoit-il des puces ASIC ?", "fr", ORACLE, ["Broadcom", "Marvell"]),
    ("Quel est le rival de xAI mentionné et que prépare Musk ?", "fr", ORACLE, ["Grok3", "Grok"]),
    ("Quels acteurs du cloud travaillent déjà avec OpenAI en plus de Google ?", "fr", GOOGLE, ["Oracle", "CoreWeave"]),
    ("Quel assistant concurrent Google pousse-t-il face à ChatGPT ?", "fr", GOOGLE, ["Gemini"]),
    ("What did Sam Altman publicly ask for regarding GPU capacity?", "en", GOOGLE, ["100k"]),
    ("Which AI company had already picked Google Cloud before OpenAI?", "en", GOOGLE, ["Anthropic"]),
    ("How big is the Nvidia agreement mentioned in the AMD article?", "en", AMD, ["100 milliards"]),
    ("Which regions will host the AMD-backed infrastructure?", "en", AMD, ["Europe", "Asie"]),
    ("Which OpenAI products could benefit from custom chips?", "en", BROADCOM, ["Sora", "DALL"]),
    ("Who designs the accelerators in the Broadcom partnership?", "en", BROADCOM, ["OpenAI concevra"]),
    ("Where will Microsoft's GB200 processors be installed?", "en", ORACLE, ["Wisconsin", "Atlanta"]),
]

UNANSWERABLE = [
    ("What is the recipe for a good ratatouille?", "en"),
    ("Combien d'habitants compte la ville de Lyon ?", "fr"),
    ("Quel est le salaire annuel de Sam Altman ?", "fr"),
    ("What was Nvidia's share price yesterday?", "en"),
    ("Quelle est la date de naissance de Lisa Su ?", "fr"),
    ("How many users does Google Gemini have?", "en"),
    ("Combien coûte un abonnement à ChatGPT Plus ?", "fr"),
    ("When will the Abilene data center be finished being built?", "en"),
    ("Qui a fondé Broadcom ?", "fr"),
    ("Quel est le chiffre d'affaires annuel de Broadcom ?", "fr"),
    ("Combien de salariés travaillent chez CoreWeave ?", "fr"),
    ("Quelle est la consommation d'eau du centre de données d'Abilene ?", "fr"),
    ("Qui dirige Oracle ?", "fr"),
    ("What is the price of an AMD MI450 chip?", "en"),
    ("In which city is Broadcom headquartered?", "en"),
    ("How much did Google pay OpenAI for the cloud deal?", "en"),
    ("When was OpenAI founded?", "en"),
]
