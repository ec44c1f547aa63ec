"""The rule sets a complaint is handled under, as data: which regulation its records cite
(title, order number, articles and items), the wording of its reason codes, and what a
filing must carry. A case's rule set follows the day the complaint was received (its
filing, in Asia/Shanghai): Order 20 before 2026-04-15, Order 121 from that day. Records
of an old case keep citing Order 20 whenever they are issued.

Sources (../shared/REGULATION-NOTES.md §0, §3.3, §4.1; Order 121's numbering checked with
the `search` tool): Order 20 refuses under Art. 15 items (1)-(6) and terminates mediation
under Art. 21 items (1)-(7). Order 121 refuses under Art. 16 para. 1 items (1)-(7): its
item (5) is missing or false materials and item (6) impersonation or refusing identity
verification, both R5 here. Order 121 terminates under Art. 23 para. 1; its items were
reordered and one added, and only item (6) (a refusal ground found after acceptance) is
confirmed by two sources, so a termination record cites the paragraph and names the ground
in words. The notes found no figure for the mediation period Order 121 set, so the
portal keeps 45 working days (DESIGN.md) under both.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.disputes.deadlines import local_date
from odr.disputes.states import REFUSAL_LABELS, TERMINATION_LABELS, RefusalReason
from odr.disputes.states import TerminationReason as T

ORDER_121_FROM = date(2026, 4, 15)


@dataclass(frozen=True)
class Citation:
    """A provision: article, optionally a paragraph, and the items it names."""

    article: int
    paragraph: int | None = None
    items: tuple[int, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    code: str
    order: int
    title: object  # lazy: the regulation's title in the reader's language
    effective_from: date
    refusal: dict  # RefusalReason -> Citation
    termination: dict  # TerminationReason -> Citation
    refusal_labels: dict = field(default_factory=dict)  # overrides of states.REFUSAL_LABELS
    termination_labels: dict = field(default_factory=dict)
    # Order 121: the complainant declares that the identity they give is true.
    identity_declaration: bool = False

    def refusal_label(self, reason) -> str:
        reason = RefusalReason(reason)
        return str(self.refusal_labels.get(reason, REFUSAL_LABELS[reason]))

    def termination_label(self, reason) -> str:
        reason = T(reason)
        return str(self.termination_labels.get(reason, TERMINATION_LABELS[reason]))


ORDER_20 = RuleSet(
    code="order20",
    order=20,
    title=_l("Interim Measures for Handling Market Regulation Complaints and Reports"),
    effective_from=date(2020, 1, 1),
    refusal={reason: Citation(15, None, (i,)) for i, reason in enumerate(RefusalReason, 1)},
    termination={reason: Citation(21, None, (i,)) for i, reason in enumerate(T, 1)},
    # Order 20 knew neither false identities nor extortionate claims by name.
    refusal_labels={
        RefusalReason.R5: _l("The materials required by Art. 9 para. 1 and Art. 10 not provided"),
    },
    termination_labels={
        T.T7: _l("Other grounds for ending mediation in laws, regulations or rules"),
    },
)

ORDER_121 = RuleSet(
    code="order121",
    order=121,
    title=_l("Measures for Handling Market Regulation Complaints and Reports"),
    effective_from=ORDER_121_FROM,
    refusal={
        RefusalReason.R1: Citation(16, 1, (1,)),
        RefusalReason.R2: Citation(16, 1, (2,)),
        RefusalReason.R3: Citation(16, 1, (3,)),
        RefusalReason.R4: Citation(16, 1, (4,)),
        RefusalReason.R5: Citation(16, 1, (5, 6)),
        RefusalReason.R6: Citation(16, 1, (7,)),
    },
    termination={reason: Citation(23, 1) for reason in T},
    # The reason texts of states.py are Order 121's (false materials, impersonation and
    # refused identity checks in R5; extortionate claims in T7).
    identity_declaration=True,
)

RULE_SETS = (ORDER_20, ORDER_121)  # oldest first


def rule_set_for(day: date) -> RuleSet:
    """The rule set in force for a complaint received on `day`."""
    chosen = RULE_SETS[0]
    for rules in RULE_SETS:
        if day >= rules.effective_from:
            chosen = rules
    return chosen


def rule_set_of(complaint) -> RuleSet:
    """The rule set of a case: the one in force on the day it was received."""
    received = complaint.filed_at
    if received is None:
        return RULE_SETS[-1]
    return rule_set_for(local_date(received) if isinstance(received, datetime) else received)


# -- citing ------------------------------------------------------------------------------

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 as written in article numbers: 十五, 二十三."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def _chinese() -> bool:
    return str(get_locale() or "zh_CN").startswith("zh")


def provision(citation: Citation) -> str:
    """第十六条第一款第（五）项、第（六）项 in Chinese; Art. 16(1), items 5 and 6 in English."""
    if _chinese():
        text = f"第{chinese_number(citation.article)}条"
        if citation.paragraph:
            text += f"第{chinese_number(citation.paragraph)}款"
        if citation.items:
            text += "、".join(f"第（{chinese_number(i)}）项" for i in citation.items)
        return text
    text = f"Art. {citation.article}"
    if citation.paragraph:
        text += f"({citation.paragraph})"
    if citation.items:
        word = "item" if len(citation.items) == 1 else "items"
        text += f", {word} " + " and ".join(str(i) for i in citation.items)
    return text


def basis(rules: RuleSet, citation: Citation) -> str:
    """The provision as a record cites it: 《title》（国家市场监督管理总局令第n号）第…条."""
    return _(
        "%(provision)s of the %(title)s (SAMR Order No. %(order)s)",
        provision=provision(citation),
        title=str(rules.title),
        order=rules.order,
    )
