"""The desk's regular customers in the history, besides the six named demo
customers. Enough of them that most who have a mishap have only one (a second
within 90 days is a repeat failure, and those should be the exception) and
that many never have one: their ratings are the dashboard's baseline.
"""

_FIRST = (
    "Sofia", "Noah", "Mei", "Olivia", "Lucas", "Amara", "Diego", "Emma",
    "Yusuf", "Hana", "Mateo", "Chloe", "Ravi", "Ingrid", "Kwame", "Zoe",
    "Luca", "Nadia", "Omar", "Freya", "Hiroshi", "Camila", "Felix", "Aisha",
    "Jonas", "Valentina", "Arjun", "Elif", "Samuel", "Leila", "Pablo", "Greta",
    "Tariq", "Isla", "Mikael", "Ana", "Kenji", "Fatima", "Oscar", "Ines",
    "Malik", "Clara", "Viktor", "Rosa", "Ethan", "Yara", "Bruno", "Signe",
)  # fmt: skip
_LAST = (
    "Rossi", "Williams", "Chen", "Brown", "Martin", "Okafor", "Hernandez", "Johansson",
    "Demir", "Kim", "Garcia", "Dubois", "Patel", "Larsen", "Mensah", "Taylor",
    "Bianchi", "Haddad", "Farouk", "Murray", "Sato", "Alves", "Wagner", "Bello",
    "Berg", "Moreno", "Nair", "Yilmaz", "Adeyemi", "Karimi", "Ruiz", "Novak",
    "Aziz", "Campbell", "Virtanen", "Costa", "Ito", "Rahman", "Lindqvist", "Santos",
    "Idowu", "Weber", "Petrov", "Ferreira", "Clarke", "Nasser", "Lopes", "Holm",
)  # fmt: skip
_ZONES = (
    ("Europe/Rome", "it"),
    ("America/New_York", "en"),
    ("Asia/Shanghai", "zh"),
    ("Australia/Sydney", "en"),
    ("Europe/Paris", "fr"),
    ("Africa/Lagos", "en"),
    ("America/Mexico_City", "es"),
    ("Europe/Stockholm", "sv"),
    ("Europe/Istanbul", "tr"),
    ("Asia/Seoul", "ko"),
    ("Europe/Madrid", "es"),
    ("America/Toronto", "en"),
    ("Asia/Dubai", "ar"),
    ("Europe/London", "en"),
    ("America/Chicago", "en"),
    ("Europe/Warsaw", "pl"),
)

# (name, email, time zone, locale), as ``seed_demo.CUSTOMERS``; past the
# 48th, the first names come round again with other last names.
HISTORY_CUSTOMERS = tuple(
    (
        f"{first} {last}",
        f"{first}.{last}@example.com".lower(),
        *_ZONES[index % len(_ZONES)],
    )
    for index in range(80)
    for first, last in [(_FIRST[index % 48], _LAST[(5 * index + index // 48) % 48])]
)
