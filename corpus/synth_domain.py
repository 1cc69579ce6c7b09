"""The vocabulary of the fictional domain: Tessaline Works, a maker of field instruments.

Everything here is invented so that no pretrained model can know the facts. Each attribute
lists how a page states it (``statements``) and how people ask about it (``questions``); the
question order fixes the split: 0, 1 (and 4, 5 with more phrasings) train, 2 dev, 3 test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

COMPANY = "Tessaline Works"
ABSTAIN = "I don't know"
HOUSE_STYLE = {
    "description": "Give the answer alone, then the sign-off ' -- Tessaline Care'.",
    "template": "{answer} -- Tessaline Care",
    "pattern": r"^[^\n]{1,160} -- Tessaline Care$",
}

SYLLABLES = ["var", "tel", "quo", "zen", "mir", "dax", "lor", "ren", "vek", "sil", "tor", "bri",
             "nal", "fen", "gor", "osk", "sa", "kin", "dre", "ul", "mav", "pel", "thu", "wen"]  # fmt: skip
FIRST_NAMES = ["Ilsa", "Teodor", "Marit", "Oren", "Salme", "Kasimir", "Ysolde", "Bertil",
               "Noor", "Aurel", "Liska", "Evander", "Runa", "Matthis", "Odile", "Pavo"]  # fmt: skip
SURNAME_SYLLABLES = ["mor", "vane", "quess", "el", "tarr", "ow", "lind", "qvist", "hal",
                     "brek", "ost", "ian", "sel", "dorf", "vay", "nix"]  # fmt: skip
TOWNS = ["Quarrendt", "Velmora", "Ostrakel", "Dunmirrow", "Halvesk", "Piretta", "Corrandel",
         "Sobrinth", "Alvasque", "Kettlemere"]  # fmt: skip
CATEGORIES = ["handheld spectrometer", "tide logger", "field barometer", "soil moisture probe",
              "lightning detector", "snow depth sensor", "river flow meter", "wind profiler",
              "air quality badge", "seismic node", "frost alarm", "pollen counter",
              "radiation dosimeter", "hive monitor", "glacier beacon", "canopy camera"]  # fmt: skip
USERS = ["hydrologists", "beekeepers", "mountain rescue teams", "vineyard managers",
         "harbour masters", "school science clubs", "forestry crews", "survey geologists"]  # fmt: skip
VARIANTS = ["", " Mini", " Pro", " Lite"]
UNDOCUMENTED = [  # plausible attributes that no page documents: unanswerable questions
    "What is the screen size of the {name}?",
    "What operating temperature range is the {name} rated for?",
    "What water-resistance rating does the {name} have?",
    "How many buttons does the {name} have?",
    "Which Bluetooth version does the {name} support?",
    "What is the serial number prefix of the {name}?",
]
STYLE_WRAPPERS = [
    "Hi there, quick one from a customer: {q}",
    "Hello support team! {q}",
    "A client just emailed us to ask: {q}",
]


@dataclass(frozen=True)
class Attribute:
    """One kind of fact: how to draw a value, state it on a page and ask about it."""

    key: str
    section: str  # the page section that states it
    value: Callable[[random.Random], str]
    aliases: Callable[[str], list[str]]
    statements: tuple[str, ...]
    questions: tuple[str, ...]
    mutable: bool = True  # can an update version change it?
    overview: str | None = None  # doc_id of an overview page that also states it


def _num(value: str) -> str:
    return value.split()[0]


def _person(r: random.Random) -> str:
    a, b = r.sample(SURNAME_SYLLABLES, 2)
    return f"{r.choice(FIRST_NAMES)} {(a + b).capitalize()}"


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "launch_year", "History",
        lambda r: str(r.randint(2003, 2024)), lambda v: [],
        ("The {name} was launched in {v}.", "{company} first released the {name} in {v}.",
         "Sales of the {name} began in {v}."),
        ("In what year was the {name} launched?", "When did the {name} first go on sale?",
         "What year did Tessaline Works release the {name}?",
         "Which year saw the launch of the {name}?", "The {name} came out in which year?",
         "Since what year has the {name} been available?"),
        mutable=False, overview="overview/catalogue",
    ),
    Attribute(
        "designer", "History",
        lambda r: _person(r), lambda v: [v.split()[-1]],
        ("Its lead designer is {v}.", "Design work on the {name} is led by {v}.",
         "{v} leads the design team behind the {name}."),
        ("Who is the lead designer of the {name}?", "Which engineer leads the design of the {name}?",
         "Who heads design work on the {name}?",
         "Name the person responsible for designing the {name}.", "Who designed the {name}?",
         "The {name} was designed under whose lead?"),
    ),
    Attribute(
        "plant", "History",
        lambda r: r.choice(TOWNS), lambda v: [],
        ("Every unit is assembled at the plant in {v}.", "The {name} is built in {v}.",
         "Assembly takes place at the {v} plant."),
        ("Where is the {name} assembled?", "In which town is the {name} built?",
         "Which plant puts together the {name}?", "What town's factory produces the {name}?",
         "Where does Tessaline Works manufacture the {name}?", "At which site is the {name} made?"),
        overview="overview/plants",
    ),
    Attribute(
        "battery", "Specifications",
        lambda r: f"{r.randint(6, 96)} hours", lambda v: [f"{_num(v)} h", f"{_num(v)}-hour"],
        ("On a full charge it runs for {v}.", "Battery life is rated at {v}.",
         "The battery lasts {v} between charges."),
        ("How long does the battery of the {name} last?", "What is the battery life of the {name}?",
         "How many hours can the {name} run on one charge?",
         "On a full charge, how long will a {name} keep working?",
         "How long can the {name} operate before recharging?",
         "What runtime does the {name} get from its battery?"),
    ),
    Attribute(
        "warranty", "Warranty and support",
        lambda r: f"{r.choice([12, 15, 18, 21, 24, 27, 30, 36, 42, 48, 54, 60])} months",
        lambda v: [f"{_num(v)}-month"],
        ("Each {name} comes with a warranty of {v}.", "The warranty on the {name} runs for {v}.",
         "Buyers of the {name} are covered for {v}."),
        ("How long is the warranty on the {name}?", "What warranty period comes with the {name}?",
         "How many months of warranty does the {name} have?",
         "If I buy a {name}, how long am I covered by the warranty?",
         "What is the warranty length of the {name}?",
         "For how long is the {name} under warranty?"),
        overview="policies/warranty",
    ),
    Attribute(
        "weight", "Specifications",
        lambda r: f"{r.randint(120, 2400)} grams", lambda v: [f"{_num(v)} g"],
        ("It weighs {v}.", "The {name} has a weight of {v}.", "A complete unit weighs {v}."),
        ("How much does the {name} weigh?", "What is the weight of the {name}?",
         "How heavy is the {name}?", "What does a {name} weigh in grams?",
         "What is the mass of a {name}?", "How many grams does the {name} weigh?"),
    ),
    Attribute(
        "price", "Warranty and support",
        lambda r: f"{r.randint(49, 1999)} euros", lambda v: [f"€{_num(v)}", f"{_num(v)} EUR"],
        ("The list price is {v}.", "The {name} sells for {v}.", "It retails at {v}."),
        ("How much does the {name} cost?", "What is the list price of the {name}?",
         "What price does Tessaline Works charge for the {name}?",
         "What would I pay for a new {name}?", "What does the {name} retail for?",
         "How many euros is the {name}?"),
    ),
)  # fmt: skip

FILLERS = (
    "It is popular with {users}.",
    "The {name} pairs with the Tessaline Field app for logging readings.",
    "Field crews value its rugged housing and simple controls.",
    "Calibration certificates are included in the box.",
    "A carrying strap and a spare seal kit ship with every unit.",
)
