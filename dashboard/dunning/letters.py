"""A dunning letter as HTML and PDF, from its level's Jinja template (dunning.md "The run", step 3).

Templates: `level<N>.html` (or the level's `template` setting), looked up first in the data folder's
`templates/` (a company's own wording), then among the built-in ones in this package; a level
without a template of its own uses the highest built-in level below it. Autoescaping is on for
every template: ledger text (names, addresses, document ids) can never become markup.
The PDF is drawn from the same HTML by fpdf2 (pure Python, no browser).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fpdf import FPDF

from dashboard.settings import DunningSettings

BUILT_IN = Path(__file__).resolve().parent / "templates"
BUILT_IN_LEVELS = sorted(int(p.stem[5:]) for p in BUILT_IN.glob("level*.html"))
# The PDF core font (Helvetica) for letters in Latin-1; a Unicode font, when the system has one, for a letter
# with other characters (names in any language); without one, such characters are written as '?'.
FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
# A fixed creation date: the same letter gives the same PDF bytes, so its recorded hash can be re-checked.
PDF_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def money(x: Any) -> str:
    return f"{float(x or 0):,.2f}"


def environment(data_root: Path | None) -> jinja2.Environment:
    folders = ([str(Path(data_root) / "templates")] if data_root is not None else []) + [str(BUILT_IN)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["money"] = money
    return env


def template_name(policy: DunningSettings, level: int, env: jinja2.Environment) -> str:
    configured = policy.levels[min(level, len(policy.levels)) - 1].template
    if configured:
        return configured
    own = f"level{level}.html"
    try:
        env.get_template(own)
        return own
    except jinja2.TemplateNotFound:
        return f"level{max([n for n in BUILT_IN_LEVELS if n <= level] or BUILT_IN_LEVELS[:1])}.html"


def interest_rule(policy: DunningSettings) -> str:
    if policy.interest == "fixed":
        return f"{(policy.fixed_rate or 0) * 100:g} % a year, daily on the open amount"
    if policy.interest == "statutory":
        return f"reference rate of each half-year + {policy.margin_points:g} points, daily on the open amount"
    return ""


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes

    @property
    def html_sha256(self) -> str:
        return hashlib.sha256(self.html.encode("utf-8")).hexdigest()

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def render(
    policy: DunningSettings, currency: str, letter: dict[str, Any], customer: dict[str, Any], items: list[dict[str, Any]], date: dt.date, data_root: Path | None
) -> Rendered:
    """letter: level, open, interest, compensation, fee, total, deadline; customer: customer_id, name, contact_name,
    address, email; items: invoice_id, due_date, dpd, open, interest, compensation."""
    env = environment(data_root)
    tpl = env.get_template(template_name(policy, int(letter["level"]), env))
    totals = {k: letter[k] for k in ("open", "interest", "compensation", "fee", "total")}
    html = tpl.render(
        customer=customer,
        items=items,
        totals=totals,
        level=int(letter["level"]),
        deadline=letter["deadline"],
        company=policy.company.model_dump(),
        currency=currency,
        date=date,
        interest_rule=interest_rule(policy),
    )
    return Rendered(html, pdf_of(html))


def pdf_of(html: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(PDF_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    latin1 = _latin1(html)
    if not latin1 and all(f.is_file() for f in FONTS):
        # Loading and subsetting a TrueType font costs ~0.3 s a letter: only for text the core font cannot write.
        pdf.add_font("Letter", "", str(FONTS[0]))
        pdf.add_font("Letter", "B", str(FONTS[1]))
        pdf.set_font("Letter", size=10)
        pdf.write_html(html, font_family="Letter")
    else:
        pdf.set_font("Helvetica", size=10)
        pdf.write_html(html if latin1 else html.encode("latin-1", "replace").decode("latin-1"), font_family="Helvetica")
    return bytes(pdf.output())


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
