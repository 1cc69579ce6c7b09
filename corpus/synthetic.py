"""A deterministic fictional domain: pages, questions and an update version.

``generate(SynthConfig(seed=0))`` always yields the same bytes, so the bundled dataset under
``datasets/tessaline/`` is reproducible (a test regenerates and compares it). Every fact is a
short span that appears in its page, asked in several phrasings: train phrasings for the
fine-tune, a dev phrasing for tuning, and a held-out test phrasing that never appears in train.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from corpus.errors import UserError
from corpus.io import dumps_jsonl, replace_dir
from corpus.model import QAItem
from corpus.synth_domain import (
    ABSTAIN,
    ATTRIBUTES,
    CATEGORIES,
    COMPANY,
    FILLERS,
    HOUSE_STYLE,
    STYLE_WRAPPERS,
    SYLLABLES,
    UNDOCUMENTED,
    USERS,
    VARIANTS,
    Attribute,
)  # fmt: skip

GENERATOR_VERSION = 1
# Question template index -> split. Index 3 is the held-out test phrasing.
SPLIT_OF_TEMPLATE = {0: "train", 1: "train", 2: "dev", 3: "test", 4: "train", 5: "train"}


@dataclass(frozen=True)
class SynthConfig:
    """Size knobs of the generated domain; ``quick`` and ``full`` profiles pick among these."""

    seed: int = field(default=0, metadata={"help": "random seed; same seed, same bytes"})
    entities: int = field(default=40, metadata={"help": "number of products (one page each)"})
    attributes: int = field(default=5, metadata={"help": f"facts per product (4..{len(ATTRIBUTES)})"})
    phrasings: int = field(default=4, metadata={"help": "question phrasings per fact (4..6)"})
    unanswerable_frac: float = field(default=0.12, metadata={"help": "share of unanswerable questions"})
    style_frac: float = field(default=0.25, metadata={"help": "share of facts with a style question"})
    update_page_frac: float = field(default=0.4, metadata={"help": "share of product pages changed in v2"})
    update_facts_per_page: int = field(default=3, metadata={"help": "facts changed per changed page"})
    name: str = field(default="tessaline", metadata={"help": "dataset name"})

    def __post_init__(self) -> None:
        checks = [
            ("entities", 4 <= self.entities <= 400, "between 4 and 400"),
            (
                "attributes",
                4 <= self.attributes <= len(ATTRIBUTES),
                f"between 4 and {len(ATTRIBUTES)}",
            ),
            ("phrasings", 4 <= self.phrasings <= 6, "between 4 and 6"),
            ("unanswerable_frac", 0.0 <= self.unanswerable_frac < 0.5, "in [0, 0.5)"),
            ("style_frac", 0.0 <= self.style_frac <= 1.0, "in [0, 1]"),
            ("update_page_frac", 0.0 < self.update_page_frac <= 1.0, "in (0, 1]"),
            (
                "update_facts_per_page",
                1 <= self.update_facts_per_page < self.attributes,
                "in [1, attributes)",
            ),
        ]
        for name, ok, want in checks:
            if not ok:
                raise UserError(f"`{name}` must be {want}, got {getattr(self, name)!r}")


@dataclass
class Product:
    name: str
    family: str
    category: str
    slug: str
    values: dict[str, str]

    @property
    def doc_id(self) -> str:
        return f"products/{self.slug}"


def _rng(seed: int, *keys: object) -> random.Random:
    """An independent stream per (seed, key): changing one page never reshuffles another."""
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _family_names(r: random.Random, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = (r.choice(SYLLABLES) + r.choice(SYLLABLES)).capitalize()
        if name not in names and name[:-1] not in names:
            names.append(name)
    return names


def make_products(cfg: SynthConfig) -> list[Product]:
    """Products in families of two or three look-alike models (retrieval's near-duplicates)."""
    r = _rng(cfg.seed, "products")
    attrs = ATTRIBUTES[: cfg.attributes]
    families = _family_names(r, math.ceil(cfg.entities / 2.5))
    products: list[Product] = []
    used: set[str] = set()
    while len(products) < cfg.entities:
        family = families[len(products) % len(families)]
        while (name := f"{family} {r.choice([2, 3, 4, 5, 7, 8, 9, 12, 20, 40])}{r.choice(VARIANTS)}") in used:
            pass
        used.add(name)
        category = CATEGORIES[families.index(family) % len(CATEGORIES)]
        values = {a.key: a.value(r) for a in attrs}
        slug = name.lower().replace(" ", "-")
        products.append(Product(name, family, category, slug, values))
    return sorted(products, key=lambda p: p.slug)


def _statement(a: Attribute, p: Product, r: random.Random) -> str:
    return r.choice(a.statements).format(name=p.name, v=p.values[a.key], company=COMPANY)


def render_product(p: Product, attrs: tuple[Attribute, ...], seed: int) -> str:
    """One product page as markdown prose; phrasing choices depend only on (seed, page)."""
    r = _rng(seed, "page", p.slug)
    intro = f"The {p.name} is a {p.category} from the {p.family} family, made by {COMPANY}. " + r.choice(
        FILLERS
    ).format(name=p.name, users=r.choice(USERS))
    out = [
        f"---\ntitle: {p.name}\nfamily: {p.family}\ncategory: {p.category}\n---",
        f"# {p.name}",
        intro,
    ]
    for section in ("History", "Specifications", "Warranty and support"):
        lines = [_statement(a, p, r) for a in attrs if a.section == section]
        if section == "Warranty and support":
            lines.append("Repairs are booked through the Tessaline Care desk.")
        if lines:
            out += [f"## {section}", " ".join(lines)]
    return "\n\n".join(out) + "\n"


def render_overviews(products: list[Product], attrs: tuple[Attribute, ...]) -> dict[str, str]:
    """Pages that mention many products: real competition for retrieval."""
    keys = {a.key for a in attrs}
    pages: dict[str, str] = {
        "about": (
            f"---\ntitle: About {COMPANY}\n---\n\n# About {COMPANY}\n\n{COMPANY} designs rugged field "
            "instruments for people who measure the outdoors. Its products are grouped into "
            "families of closely related models; each model has its own page in this handbook.\n\n"
            "## Support\n\nQuestions go to the Tessaline Care desk, which answers every ticket "
            "with a short reply and its sign-off.\n"
        )
    }
    families = sorted({p.family for p in products})
    if "launch_year" in keys:
        body = [
            f"---\ntitle: Product catalogue\n---\n\n# Product catalogue\n\nEvery {COMPANY} product by family."
        ]
        for fam in families:
            members = [p for p in products if p.family == fam]
            lines = [f"- {p.name}: {p.category}, launched in {p.values['launch_year']}" for p in members]
            body.append(f"## The {fam} family\n\n" + "\n".join(lines))
        pages["overview/catalogue"] = "\n\n".join(body) + "\n"
    if "plant" in keys:
        body = ["---\ntitle: Assembly plants\n---\n\n# Assembly plants\n\nWhere each product is assembled."]
        for town in sorted({p.values["plant"] for p in products}):
            names = ", ".join(p.name for p in products if p.values["plant"] == town)
            body.append(f"## {town}\n\nThe plant in {town} assembles: {names}.")
        pages["overview/plants"] = "\n\n".join(body) + "\n"
    if "warranty" in keys:
        body = [
            "---\ntitle: Warranty policy\n---\n\n# Warranty policy\n\nWarranty starts on the day of "
            "purchase and covers manufacturing defects. Water damage from opened seals is excluded.",
            "## Coverage by product",
        ]
        months = sorted({p.values["warranty"] for p in products}, key=lambda v: int(v.split()[0]))
        body.append(
            "\n".join(
                f"- {m}: " + ", ".join(p.name for p in products if p.values["warranty"] == m) for m in months
            )
        )
        pages["policies/warranty"] = "\n\n".join(body) + "\n"
    return pages


def render_pages(products: list[Product], cfg: SynthConfig) -> dict[str, str]:
    attrs = ATTRIBUTES[: cfg.attributes]
    pages = {p.doc_id: render_product(p, attrs, cfg.seed) for p in products}
    pages.update(render_overviews(products, attrs))
    return dict(sorted(pages.items()))


def fact_questions(products: list[Product], cfg: SynthConfig) -> list[QAItem]:
    """Every fact in ``cfg.phrasings`` phrasings; template index decides the split."""
    items: list[QAItem] = []
    for p in products:
        for a in ATTRIBUTES[: cfg.attributes]:
            fact_id, value = f"{p.slug}.{a.key}", p.values[a.key]
            sources = (p.doc_id, a.overview) if a.overview else (p.doc_id,)
            for t in range(cfg.phrasings):
                items.append(QAItem(
                    id=f"{fact_id}.t{t}", question=a.questions[t].format(name=p.name),
                    answer=value, aliases=tuple(a.aliases(value)), sources=sources,
                    split=SPLIT_OF_TEMPLATE[t], kind="fact", fact_id=fact_id, template=f"{a.key}/{t}",
                ))  # fmt: skip
    return items


def style_questions(facts: list[QAItem], cfg: SynthConfig) -> list[QAItem]:
    """Customer-register questions on a share of facts, scored for house-style compliance.

    Dev style items wrap the dev phrasing and test items the test phrasing, so no test wording
    reaches training through them.
    """
    r = _rng(cfg.seed, "style")
    by_fact = {q.fact_id: q for q in facts if q.template and q.template.endswith("/0")}
    chosen = sorted(r.sample(sorted(by_fact), round(cfg.style_frac * len(by_fact))))
    items = []
    for fact_id in chosen:
        split = "dev" if r.random() < 0.5 else "test"
        base = next(q for q in facts if q.fact_id == fact_id and q.split == split)
        w = r.randrange(len(STYLE_WRAPPERS))
        q_text = base.question[0].lower() + base.question[1:]
        items.append(QAItem(
            id=f"{fact_id}.style", question=STYLE_WRAPPERS[w].format(q=q_text),
            answer=base.answer, aliases=base.aliases, sources=base.sources, split=split,
            kind="style", fact_id=fact_id, template=f"style/{w}",
        ))  # fmt: skip
    return items


def unanswerable_questions(products: list[Product], n_answerable: int, cfg: SynthConfig) -> list[QAItem]:
    """Plausible questions the corpus cannot answer: undocumented attributes of real products,
    and documented attributes of products that do not exist."""
    r = _rng(cfg.seed, "unanswerable")
    frac = cfg.unanswerable_frac
    n = math.ceil(frac / (1 - frac) * n_answerable) if frac > 0 else 0
    names = {p.name for p in products}
    families = sorted({p.family for p in products})
    items: list[QAItem] = []
    seen: set[str] = set()
    for _attempt in range(100 * n + 100):
        if len(items) >= n:
            break
        k = len(items)
        if k % 2 == 0:
            t = r.randrange(len(UNDOCUMENTED))
            question, template = (
                UNDOCUMENTED[t].format(name=r.choice(products).name),
                f"undocumented/{t}",
            )
        else:
            while (ghost := f"{r.choice(families)} {r.choice([6, 11, 30, 50])}") in names:
                pass
            a = r.choice(ATTRIBUTES[: cfg.attributes])
            t = r.randrange(4)
            question, template = a.questions[t].format(name=ghost), f"missing-product/{a.key}/{t}"
        if question in seen:  # one wording, one split: no unanswerable test item leaks from train
            continue
        seen.add(question)
        split = r.choices(["train", "dev", "test"], weights=[2, 1, 1])[0]
        items.append(QAItem(
            id=f"unanswerable.{k:03d}", question=question, answer=ABSTAIN, split=split,
            kind="unanswerable", fact_id=f"unanswerable.{k:03d}", template=template,
        ))  # fmt: skip
    if len(items) < n:
        raise UserError(
            f"`unanswerable_frac` {frac} needs {n} distinct questions; only {len(items)} exist here"
        )
    return items


def updated_products(
    products: list[Product], cfg: SynthConfig
) -> tuple[list[Product], dict[str, tuple[str, str]]]:
    """Version 2: a share of pages get new values for some of their mutable facts.

    Returns the new products and ``fact_id -> (old, new)``.
    """
    r = _rng(cfg.seed, "update")
    attrs = [a for a in ATTRIBUTES[: cfg.attributes] if a.mutable]
    chosen = {p.slug for p in r.sample(products, math.ceil(cfg.update_page_frac * len(products)))}
    changes: dict[str, tuple[str, str]] = {}
    out = []
    for p in products:
        values = dict(p.values)
        if p.slug in chosen:
            for a in r.sample(attrs, min(cfg.update_facts_per_page, len(attrs))):
                vr = _rng(cfg.seed, "update", p.slug, a.key)
                while (new := a.value(vr)) == values[a.key]:
                    pass
                changes[f"{p.slug}.{a.key}"] = (values[a.key], new)
                values[a.key] = new
        out.append(Product(p.name, p.family, p.category, p.slug, values))
    return out, changes


def _readme(cfg: SynthConfig, stats: dict[str, int]) -> str:
    train_t = ", ".join(str(t) for t in range(cfg.phrasings) if SPLIT_OF_TEMPLATE[t] == "train")
    flags = f"--entities {cfg.entities} --attributes {cfg.attributes} --phrasings {cfg.phrasings}"
    counts = "\n".join(f"| {k} | {v} |" for k, v in stats.items())
    return f"""# {cfg.name}: a generated, fictional product handbook

{COMPANY} and everything in this folder are invented: products, people, towns and numbers were
drawn from a seeded random generator, so no pretrained model can know them, and any correct
answer from a system is knowledge it got from this corpus (by retrieval or by fine-tuning).

- `docs/`: one page per product (`products/`), plus overview pages that mention many products
  (`overview/catalogue`, `overview/plants`, `policies/warranty`, `about`). Models of one family
  have look-alike pages: retrieval has real competition.
- `qa.jsonl`: every fact in {cfg.phrasings} phrasings (templates {train_t} train, 2 dev,
  3 held-out test), unanswerable questions (kind `unanswerable`, answer "{ABSTAIN}"), and
  customer-register questions (kind `style`) scored for the house style.
- `updates/v2/`: the changed pages of a later version and the questions whose answers changed
  (`old_answer` holds the previous value).
- `dataset.json`: generator settings and the house style: {HOUSE_STYLE["description"]}

## Counts

| what | count |
|---|---|
{counts}

## Regenerate

```
ftrag data synth --seed {cfg.seed} {flags} --out datasets/{cfg.name}
```

Generator version {GENERATOR_VERSION}. The output is byte-for-byte reproducible (a test checks it).

## License

Generated data, dedicated to the public domain (CC0 1.0).
"""


def generate(cfg: SynthConfig | None = None) -> dict[str, str]:
    """The whole dataset as ``relative path -> file text``; nothing touches the disk here."""
    cfg = cfg or SynthConfig()
    products = make_products(cfg)
    pages = render_pages(products, cfg)
    facts = fact_questions(products, cfg)
    qa = facts + style_questions(facts, cfg)
    qa += unanswerable_questions(products, len(qa), cfg)

    new_products, changes = updated_products(products, cfg)
    new_pages = render_pages(new_products, cfg)
    changed_docs = {d: t for d, t in new_pages.items() if pages.get(d) != t}
    attr_of = {a.key: a for a in ATTRIBUTES}
    upd_qa = []
    for q in qa:
        if q.fact_id in changes:
            new = changes[q.fact_id][1]
            aliases = tuple(attr_of[q.fact_id.rsplit(".", 1)[1]].aliases(new))
            upd_qa.append(replace(q, answer=new, old_answer=q.answer, aliases=aliases))

    stats = {
        "documents": len(pages),
        "products": len(products),
        "facts": len({q.fact_id for q in facts}),
        **{f"questions ({s})": sum(q.split == s for q in qa) for s in ("train", "dev", "test")},
        **{f"questions ({k})": sum(q.kind == k for q in qa) for k in ("fact", "style", "unanswerable")},
        "v2 changed facts": len(changes),
        "v2 changed pages": len(changed_docs),
        "v2 changed questions": len(upd_qa),
    }
    manifest = {
        "name": cfg.name,
        "description": f"Fictional product handbook of {COMPANY} (generated).",
        "generator": {"version": GENERATOR_VERSION, **asdict(cfg)},
        "house_style": HOUSE_STYLE,
        "abstain_answer": ABSTAIN,
        "versions": ["v1", "v2"],
        "license": "CC0-1.0",
        "stats": stats,
    }
    files = {"dataset.json": json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
             "README.md": _readme(cfg, stats),
             "qa.jsonl": dumps_jsonl([q.to_json() for q in qa]),
             "updates/v2/qa.jsonl": dumps_jsonl([q.to_json() for q in upd_qa])}  # fmt: skip
    files.update({f"docs/{d}.md": t for d, t in pages.items()})
    files.update({f"updates/v2/docs/{d}.md": t for d, t in changed_docs.items()})
    return dict(sorted(files.items()))


def write_dataset(files: dict[str, str], out: str | Path, force: bool = False) -> Path:
    """Write generated files into ``out`` atomically: a staging folder swapped into place."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
