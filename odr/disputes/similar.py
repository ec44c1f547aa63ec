"""When two complaints are "the same dispute": the one similarity rule behind the wizard's
repeat check (a consumer filing again what they already have open), its pointer to an open
joint complaint on the same issue, and the regulator's cluster warning (similar complaints
against one enterprise within a week, in `stats.early_warnings`).

Subjects are compared with rapidfuzz on normalised text (Unicode NFKC, lower case,
punctuation dropped). Chinese is not written with spaces, so text with Chinese characters is
compared character by character (the string without spaces); other text word by word
(token_set_ratio: word order and extra words do not count against it). A long subject that
contains the other nearly whole also matches (partial_ratio), so "游泳年卡" matches
"某某游泳馆游泳年卡退费" and "gym membership" matches "annual gym membership, prepaid".
"""

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import sqlalchemy as sa
from rapidfuzz import fuzz, process

from odr.disputes.models import Complaint, Enterprise, JointComplaint, JointMember, JointState
from odr.disputes.states import OPEN_STATES
from odr.extensions import db
from odr.types import utcnow

# Two subjects are similar from this score (0-100) on.
SUBJECT_THRESHOLD = 80
# partial_ratio only counts when the shorter text is at least this long (characters for
# Chinese, letters for other text): "卡" is in many subjects, "游泳年卡" in few.
PARTIAL_MIN_CJK = 4
PARTIAL_MIN_WORDS = 10
# Amounts are similar within this share of the larger one.
AMOUNT_TOLERANCE = Decimal("0.2")
# The cluster warning: similar complaints from at least this many consumers against one
# enterprise within this many days (one consumer filing again is a repeat, not a cluster).
CLUSTER_SIZE = 5
CLUSTER_DAYS = 7
# At most this many of an enterprise's recent filings are compared (newest first).
CLUSTER_SCAN = 5000

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, punctuation and runs
    of spaces become one space."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


class Key(NamedTuple):
    """A subject made ready to compare: whether it has Chinese characters, its normalised
    words, and the same without spaces."""

    cjk: bool
    words: str
    flat: str


def key(text: str | None) -> Key:
    words = normalise(text)
    return Key(bool(_CJK.search(words)), words, words.replace(" ", ""))


def key_score(a: Key, b: Key) -> float:
    """The rule, 0-100: character by character when either has Chinese, else by word."""
    if not a.words or not b.words:
        return 0.0
    if a.cjk or b.cjk:
        score = fuzz.ratio(a.flat, b.flat)
        if min(len(a.flat), len(b.flat)) >= PARTIAL_MIN_CJK:
            score = max(score, fuzz.partial_ratio(a.flat, b.flat))
        return score
    score = fuzz.token_set_ratio(a.words, b.words)
    if min(len(a.words), len(b.words)) >= PARTIAL_MIN_WORDS:
        score = max(score, fuzz.partial_ratio(a.words, b.words))
    return score


def subject_score(a: str | None, b: str | None) -> float:
    """How alike two subjects are, 0-100."""
    return key_score(key(a), key(b))


def similar_subjects(a: str | None, b: str | None) -> bool:
    return subject_score(a, b) >= SUBJECT_THRESHOLD


def _money(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def similar_amounts(a, b) -> bool:
    """Within AMOUNT_TOLERANCE of the larger; an amount not given does not tell them apart."""
    a, b = _money(a), _money(b)
    if a is None or b is None:
        return True
    top = max(abs(a), abs(b))
    return abs(a - b) <= top * AMOUNT_TOLERANCE


def _enterprise_id(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# -- the wizard --------------------------------------------------------------------------


def open_repeats(consumer_id: int, data: dict, *, limit: int = 5) -> list[Complaint]:
    """The consumer's own open cases that look like the dispute they are filing (data as the
    wizard keeps it: enterprise_id, subject, amount): same enterprise, similar subject and
    similar amount. Newest first."""
    enterprise_id = _enterprise_id(data.get("enterprise_id"))
    if enterprise_id is None or not data.get("subject"):
        return []
    candidates = db.session.scalars(
        sa.select(Complaint)
        .where(
            Complaint.consumer_id == consumer_id,
            Complaint.enterprise_id == enterprise_id,
            Complaint.state.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(Complaint.id.desc())
        .limit(200)
    )
    found = [
        c
        for c in candidates
        if similar_subjects(c.subject, data["subject"])
        and similar_amounts(c.amount, data.get("amount"))
    ]
    return found[:limit]


def open_groups_like(consumer_id: int, data: dict, *, limit: int = 3) -> list[JointComplaint]:
    """Joint complaints still gathering members against the same enterprise on the same
    issue whose subject is similar, that the consumer is not already in. Newest first."""
    enterprise_id = _enterprise_id(data.get("enterprise_id"))
    issue = data.get("issue")
    if enterprise_id is None or not issue:
        return []
    mine = sa.select(JointMember.joint_id).where(
        JointMember.consumer_id == consumer_id, JointMember.left_at.is_(None)
    )
    groups = db.session.scalars(
        sa.select(JointComplaint)
        .where(
            JointComplaint.enterprise_id == enterprise_id,
            JointComplaint.state == JointState.GATHERING,
            JointComplaint.issue == issue,
            JointComplaint.id.not_in(mine),
        )
        .order_by(JointComplaint.id.desc())
        .limit(50)
    )
    subject = data.get("subject")
    found = [g for g in groups if not subject or similar_subjects(g.subject, subject)]
    return found[:limit]


# -- the regulator's cluster warning -----------------------------------------------------


class _Leaders:
    """The first subjects of the clusters so far, kept in the four lists the rule compares
    them by, so that one subject is matched against all of them in rapidfuzz's C loops
    (process.extractOne) rather than one Python call a pair: the same rule as key_score."""

    def __init__(self):
        self.keys: list[Key] = []
        # (strings, leader indexes) per comparison
        self.flat_all: tuple[list[str], list[int]] = ([], [])  # every leader, characters
        self.flat_long: tuple[list[str], list[int]] = ([], [])  # flat >= PARTIAL_MIN_CJK
        self.cjk_flat: tuple[list[str], list[int]] = ([], [])  # Chinese leaders
        self.cjk_long: tuple[list[str], list[int]] = ([], [])
        self.word_all: tuple[list[str], list[int]] = ([], [])  # other leaders, words
        self.word_long: tuple[list[str], list[int]] = ([], [])  # words >= PARTIAL_MIN_WORDS

    def add(self, k: Key) -> int:
        index = len(self.keys)
        self.keys.append(k)

        def put(target, text):
            target[0].append(text)
            target[1].append(index)

        put(self.flat_all, k.flat)
        if len(k.flat) >= PARTIAL_MIN_CJK:
            put(self.flat_long, k.flat)
        if k.cjk:
            put(self.cjk_flat, k.flat)
            if len(k.flat) >= PARTIAL_MIN_CJK:
                put(self.cjk_long, k.flat)
        else:
            put(self.word_all, k.words)
            if len(k.words) >= PARTIAL_MIN_WORDS:
                put(self.word_long, k.words)
        return index

    def match(self, k: Key) -> int | None:
        """The leader most like this subject with a score at or above the threshold."""
        if not k.words:
            return None
        checks = []
        if k.cjk:
            checks.append((self.flat_all, k.flat, fuzz.ratio))
            if len(k.flat) >= PARTIAL_MIN_CJK:
                checks.append((self.flat_long, k.flat, fuzz.partial_ratio))
        else:
            checks.append((self.cjk_flat, k.flat, fuzz.ratio))
            if len(k.flat) >= PARTIAL_MIN_CJK:
                checks.append((self.cjk_long, k.flat, fuzz.partial_ratio))
            checks.append((self.word_all, k.words, fuzz.token_set_ratio))
            if len(k.words) >= PARTIAL_MIN_WORDS:
                checks.append((self.word_long, k.words, fuzz.partial_ratio))
        best = None
        for (texts, indexes), query, scorer in checks:
            if not texts:
                continue
            found = process.extractOne(
                query, texts, scorer=scorer, processor=None, score_cutoff=SUBJECT_THRESHOLD
            )
            if found is not None and (best is None or found[1] > best[1]):
                best = (indexes[found[2]], found[1])
        return best[0] if best else None


def clusters(
    items: Iterable[tuple[int, str, int]], size: int = CLUSTER_SIZE
) -> list[tuple[list[int], int]]:
    """Group (id, subject, consumer id) triples: each joins the cluster whose first subject
    it is most similar to (similar_subjects), else starts one. The clusters from at least
    `size` consumers, as (ids, consumers), largest first."""
    leaders = _Leaders()
    groups: list[tuple[list[int], set[int]]] = []
    for item_id, subject, consumer_id in items:
        k = key(subject)
        index = leaders.match(k)
        if index is None:
            leaders.add(k)
            groups.append(([item_id], {consumer_id}))
        else:
            groups[index][0].append(item_id)
            groups[index][1].add(consumer_id)
    found = [(ids, len(people)) for ids, people in groups if len(people) >= size]
    return sorted(found, key=lambda group: (-len(group[0]), group[0][0]))


def cluster_warnings(now: datetime | None = None) -> list[dict]:
    """Enterprises against which at least CLUSTER_SIZE consumers filed similar complaints in
    the last CLUSTER_DAYS days, one warning a cluster. JSON-ready, in the shape of the other
    early warnings: kind "cluster", key "<enterprise id>-<first case id>", name (the
    enterprise), subject (the cluster's first subject), current (complaints in it),
    consumers, baseline None, enterprise_id."""
    now = now or utcnow()
    since = [Complaint.filed_at >= now - timedelta(days=CLUSTER_DAYS), Complaint.filed_at <= now]
    # The enterprises with enough different consumers in the window ...
    busy = (
        sa.select(Complaint.enterprise_id)
        .where(*since, Complaint.enterprise_id.is_not(None))
        .group_by(Complaint.enterprise_id)
        .having(sa.func.count(sa.distinct(Complaint.consumer_id)) >= CLUSTER_SIZE)
    )
    # ... and the newest CLUSTER_SCAN filings of each, with its name: one statement.
    ranked = (
        sa.select(
            Complaint.id,
            Complaint.subject,
            Complaint.consumer_id,
            Complaint.enterprise_id,
            Enterprise.name,
            sa.func.row_number()
            .over(partition_by=Complaint.enterprise_id, order_by=Complaint.id.desc())
            .label("n"),
        )
        .join(Enterprise, Enterprise.id == Complaint.enterprise_id)
        .where(*since, Complaint.enterprise_id.in_(busy))
        .subquery()
    )
    by_enterprise: dict[int, list] = {}
    names: dict[int, str] = {}
    for row in db.session.execute(
        sa.select(ranked)
        .where(ranked.c.n <= CLUSTER_SCAN)
        .order_by(ranked.c.enterprise_id, ranked.c.id.desc())
    ):
        names[row.enterprise_id] = row.name
        by_enterprise.setdefault(row.enterprise_id, []).append(
            (row.id, row.subject, row.consumer_id)
        )
    busy = list(by_enterprise)
    alerts = []
    for enterprise_id in busy:
        rows = by_enterprise[enterprise_id]
        subjects = {case_id: subject for case_id, subject, _ in rows}
        for ids, people in clusters(reversed(rows)):
            alerts.append(
                {
                    "kind": "cluster",
                    "key": f"{enterprise_id}-{ids[0]}",
                    "name": names.get(enterprise_id, "?"),
                    "subject": subjects[ids[0]],
                    "current": len(ids),
                    "consumers": people,
                    "baseline": None,
                    "enterprise_id": enterprise_id,
                }
            )
    return alerts
