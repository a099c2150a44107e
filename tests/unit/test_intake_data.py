"""Intake data and rules: the scope taxonomy, the commitment register, tracking
numbers and access codes, duplicate suggestions, and notice texts."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from tousu.shared.calendar import TZ
from tousu.shared.datafiles import DataFileError
from tousu.shared.events.types import Complainant
from tousu.shared.intake.commitments import DEFAULT_LIMITS, CommitmentRegister, Limits
from tousu.shared.intake.duplicates import (
    DEFAULT_THRESHOLD,
    ContactKey,
    DuplicateCandidate,
    find_duplicates,
    normalize_phone,
    similarity,
)
from tousu.shared.intake.i18n import Localized, UnsupportedLanguage, normalize_lang
from tousu.shared.intake.identifiers import (
    ACCESS_CODE_ALPHABET,
    ACCESS_CODE_LENGTH,
    hash_access_code,
    is_valid_tracking_no,
    new_access_code,
    new_tracking_no,
    normalize_tracking_no,
    verify_access_code,
)
from tousu.shared.intake.notices import (
    FIELDS,
    NoticeContacts,
    NoticeKind,
    NoticeTexts,
    format_date,
    render_notice,
)
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


@pytest.fixture(scope="module")
def register() -> CommitmentRegister:
    return CommitmentRegister.load()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# --- languages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "lang"), [("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"), ("en-US", "en")]
)
def test_language_tags(tag: str, lang: str) -> None:
    assert normalize_lang(tag) == lang


def test_unsupported_language() -> None:
    with pytest.raises(UnsupportedLanguage):
        normalize_lang("fr")


# --- taxonomy --------------------------------------------------------------------

POLICY_SUBCATEGORIES = {
    "service_quality": {"attitude", "efficiency", "process"},
    "service_result": {"below_standard", "wrong_information"},
    "misconduct": {"abuse_of_power", "bribery", "discipline"},
    "service_environment": {"facilities", "hygiene", "order_safety"},
}


def test_taxonomy_has_the_policy_scope(taxonomy: Taxonomy) -> None:
    assert isinstance(taxonomy.version, int) and taxonomy.version >= 1
    for code, subs in POLICY_SUBCATEGORIES.items():
        assert {s.code for s in taxonomy.category(code).subcategories} == subs
        assert taxonomy.is_in_scope(code)
    assert taxonomy.category("service_quality").name.zh == "服务质量"
    assert taxonomy.subcategory("misconduct", "bribery").name.zh == "以权谋私/收受贿赂"


def test_every_entry_has_both_languages_and_keywords(taxonomy: Taxonomy) -> None:
    for cat in taxonomy.categories:
        assert cat.name.zh and cat.name.en
        for sub in cat.subcategories:
            assert sub.name.zh and sub.name.en and sub.keywords, (cat.code, sub.code)
    for kind in taxonomy.out_of_scope_kinds:
        for text in (kind.name, kind.reason, kind.referral):
            assert text.zh and text.en, kind.code


def test_supervision_goes_to_the_supervision_office(
    taxonomy: Taxonomy, register: CommitmentRegister
) -> None:
    supervision = taxonomy.category("supervision")
    assert supervision.name.zh == "监督举报"
    assert taxonomy.is_in_scope("supervision")
    assert supervision.department == "supervision"
    for cat in taxonomy.categories:
        if cat.department is not None:
            register.department(cat.department)  # raises if unknown


def test_out_of_scope_kinds(taxonomy: Taxonomy) -> None:
    labour = taxonomy.out_of_scope("labour_dispute")
    assert "劳动人事争议仲裁" in labour.referral.zh
    assert "12315" in taxonomy.out_of_scope("consumer_dispute").referral.zh
    assert "人民法院" in taxonomy.out_of_scope("litigation").referral.zh
    assert not taxonomy.is_in_scope("consultation")
    assert not taxonomy.is_in_scope("suggestion")


def test_unknown_codes_raise(taxonomy: Taxonomy) -> None:
    with pytest.raises(UnknownCode, match="service_qualty"):
        taxonomy.is_in_scope("service_qualty")
    with pytest.raises(UnknownCode):
        taxonomy.subcategory("service_quality", "bribery")
    with pytest.raises(UnknownCode):
        taxonomy.out_of_scope("service_quality")


def test_label(taxonomy: Taxonomy) -> None:
    assert taxonomy.label("service_quality", "attitude", "zh-CN") == "服务质量 / 服务态度"
    assert taxonomy.label("service_environment", None, "en") == "Service environment"


@pytest.mark.parametrize(
    ("text", "category", "subcategory", "out_of_scope"),
    [
        ("3号窗口工作人员态度恶劣，还骂人", "service_quality", "attitude", None),
        (
            "材料交了三次，每次说缺不同的材料，没有一次性告知，来回跑",
            "service_quality",
            "process",
            None,
        ),
        ("社保卡补办超过承诺时限，迟迟没有办好", "service_quality", "efficiency", None),
        ("窗口人员上班时间玩手机，让我们排队等", "misconduct", "discipline", None),
        ("办事员暗示要给好处费才能快点办", "misconduct", "bribery", None),
        ("大厅卫生间很脏，有异味", "service_environment", "hygiene", None),
        ("自来水修好又坏了，水质浑浊", "service_result", "below_standard", None),
        ("我的投诉过了15天没有反馈，投诉没人管", "supervision", "not_handled", None),
        ("公司拖欠工资三个月不发", None, None, "labour_dispute"),
        ("网购的衣服商家不给退款", None, None, "consumer_dispute"),
    ],
)
def test_suggest(
    taxonomy: Taxonomy,
    text: str,
    category: str | None,
    subcategory: str | None,
    out_of_scope: str | None,
) -> None:
    best = taxonomy.suggest(text)[0]
    assert (best.category, best.subcategory, best.out_of_scope) == (
        category,
        subcategory,
        out_of_scope,
    )
    assert 0 < best.score < 1
    assert best.keywords and all(k in text for k in best.keywords)
    assert best.in_scope is (category is not None)


def test_suggest_orders_by_score_and_finds_nothing_in_unrelated_text(taxonomy: Taxonomy) -> None:
    found = taxonomy.suggest("卫生间很脏，叫号机坏了一个月没人修，工作人员态度恶劣")
    assert len(found) >= 3
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert taxonomy.suggest("今天天气不错") == []
    # Full-width characters and spaces typed between words still match.
    assert taxonomy.suggest("态 度 恶 劣")[0].subcategory == "attitude"


TAXONOMY_OK = """
version: 3
categories:
  - code: service_quality
    name: {zh: 服务质量, en: Service quality}
    subcategories:
      - code: attitude
        name: {zh: 服务态度, en: Attitude}
        keywords: [态度]
"""


def test_taxonomy_validation_names_each_problem() -> None:
    assert Taxonomy.from_yaml(TAXONOMY_OK).version == 3
    missing_en = TAXONOMY_OK.replace(", en: Attitude", "")
    with pytest.raises(DataFileError, match=r"categories\.0\.subcategories\.0\.name\.en"):
        Taxonomy.from_yaml(missing_en)
    twice = TAXONOMY_OK + (
        "out_of_scope:\n  - code: service_quality\n    name: {zh: 甲, en: A}\n"
        "    reason: {zh: 甲, en: A}\n    referral: {zh: 甲, en: A}\n"
    )
    with pytest.raises(DataFileError, match="listed twice"):
        Taxonomy.from_yaml(twice)
    with pytest.raises(DataFileError, match="duplicate key 'version'"):
        Taxonomy.from_yaml("version: 1\n" + TAXONOMY_OK)
    with pytest.raises(DataFileError, match="version"):
        Taxonomy.from_yaml(TAXONOMY_OK.replace("version: 3", "version: three"))


# --- commitment register ------------------------------------------------------------


def test_register_loads_and_is_consistent(register: CommitmentRegister) -> None:
    assert isinstance(register.version, int)
    assert isinstance(register.published_on, date)
    assert len(register.items) >= 8
    codes = {d.code for d in register.departments}
    assert {"service_center", "supervision"} <= codes
    assert register.department("supervision").name.zh == "督查室"
    for item in register.items:
        assert item.department in codes, item.code
        assert item.name.zh and item.name.en and item.process
        assert item.standards.quality.zh and item.standards.attitude.en
    assert register.item("household_registration").department == "public_security"
    assert register.item("real_estate_registration").department == "natural_resources"


def test_limits(register: CommitmentRegister) -> None:
    assert DEFAULT_LIMITS == Limits(
        acceptance_days=2,
        claim_days=1,
        return_days=2,
        feedback_days=15,
        follow_up_days=3,
        max_extension_days=10,
    )
    assert register.limits_for(None) == DEFAULT_LIMITS
    assert register.limits_for("no_such_item") == DEFAULT_LIMITS
    water = register.limits_for("water_repair")
    assert water.feedback_days == 5
    assert water.claim_days == DEFAULT_LIMITS.claim_days  # not overridden: the default
    assert register.limits_for("window_service") == DEFAULT_LIMITS


def test_unknown_item_and_department(register: CommitmentRegister) -> None:
    with pytest.raises(UnknownCode):
        register.item("no_such_item")
    with pytest.raises(UnknownCode):
        register.department("no_such_department")


def test_public_view(register: CommitmentRegister) -> None:
    zh = register.public_view("zh-CN").model_dump(mode="json")
    en = register.public_view("en").model_dump(mode="json")
    json.dumps(zh)  # JSON-able as is
    assert zh["lang"] == "zh-CN" and en["lang"] == "en"
    assert zh["version"] == register.version
    assert zh["published_on"] == register.published_on.isoformat()
    water = next(i for i in zh["items"] if i["code"] == "water_repair")
    assert water["name"] == "供水维修"
    assert water["department"] == {"code": "water", "name": register.department("water").name.zh}
    assert water["standards"]["feedback_days"] == 5
    assert "claim_days" not in water["standards"]  # internal, not promised to the public
    assert (
        next(i for i in en["items"] if i["code"] == "water_repair")["name"]
        == "Water supply repairs"
    )


REGISTER_OK = """
version: 2
published_on: 2026-03-01
departments:
  - code: service_center
    name: {zh: 政务服务中心, en: Service center}
  - code: supervision
    name: {zh: 督查室, en: Supervision office}
items:
  - code: window_service
    name: {zh: 窗口服务, en: Counter}
    department: service_center
    serves: {zh: 群众, en: The public}
    content: {zh: 受理, en: Acceptance}
    process: [{zh: 受理, en: Accept}]
    standards:
      efficiency: {zh: 快, en: Fast}
      quality: {zh: 好, en: Good}
      attitude: {zh: 热情, en: Warm}
      feedback_days: 7
"""


def test_register_validation() -> None:
    parsed = CommitmentRegister.from_yaml(REGISTER_OK)
    assert parsed.limits_for("window_service").feedback_days == 7
    with pytest.raises(DataFileError, match="unknown department 'water'"):
        CommitmentRegister.from_yaml(
            REGISTER_OK.replace("department: service_center", "department: water")
        )
    no_supervision = REGISTER_OK.replace("code: supervision", "code: audit")
    with pytest.raises(DataFileError, match="department 'supervision' is required"):
        CommitmentRegister.from_yaml(no_supervision)
    with pytest.raises(DataFileError, match=r"standards\.feedback_days"):
        CommitmentRegister.from_yaml(REGISTER_OK.replace("feedback_days: 7", "feedback_days: 0"))
    with pytest.raises(DataFileError, match="published_on"):
        CommitmentRegister.from_yaml(REGISTER_OK.replace("published_on: 2026-03-01\n", ""))


# --- tracking numbers --------------------------------------------------------------

TRACKING = re.compile(r"^TS\d{4}-\d{5}-\d{5}$")


def test_tracking_number_format_and_month_in_shanghai() -> None:
    rng = random.Random(7)
    number = new_tracking_no(at("2026-11-27T10:00"), rng)
    assert TRACKING.match(number) and number.startswith("TS2611-")
    assert is_valid_tracking_no(number)
    # 20:00 UTC on 30 November is already December in Shanghai.
    assert new_tracking_no(datetime(2026, 11, 30, 20, tzinfo=UTC), rng).startswith("TS2612-")
    with pytest.raises(ValueError, match="time zone"):
        new_tracking_no(datetime(2026, 11, 27, 10), rng)


def test_check_digit_catches_every_single_digit_error_and_adjacent_swap() -> None:
    rng = random.Random(11)
    for _ in range(50):
        number = new_tracking_no(at("2026-05-20T09:30"), rng)
        digits = number[2:].replace("-", "")
        for i, d in enumerate(digits):
            for other in "0123456789":
                if other != d:
                    typo = digits[:i] + other + digits[i + 1 :]
                    assert normalize_tracking_no(typo) is None, (number, typo)
        for i in range(len(digits) - 1):
            if digits[i] != digits[i + 1]:
                swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
                assert normalize_tracking_no(swapped) is None, (number, swapped)


def test_tracking_number_normalisation() -> None:
    number = new_tracking_no(at("2026-02-13T17:00"), random.Random(3))
    digits = number[2:].replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in digits)
    for typed in (
        number,
        number.lower(),
        f"  {number}  ",
        digits,
        " ".join(digits),
        f"TS {digits[:4]} {digits[4:9]} {digits[9:]}",
        f"ＴＳ{full_width[:4]}－{full_width[4:]}",
        f"ts{digits[:4]}—{digits[4:]}",
        number.replace("0", "O").replace("1", "l"),
    ):
        assert normalize_tracking_no(typed) == number, typed
    assert not is_valid_tracking_no(number.lower())  # valid input, but not the canonical form
    for bad in ("", "TS", "hello", number + "1", number[:-1], "TS2613-00000-00000"):
        assert normalize_tracking_no(bad) is None, bad


def test_tracking_numbers_are_unique_across_ten_thousand() -> None:
    rng = random.Random(2611)
    received = at("2026-11-01T08:00")
    numbers = {new_tracking_no(received + timedelta(minutes=4 * i), rng) for i in range(10_000)}
    assert len(numbers) == 10_000
    assert all(is_valid_tracking_no(n) for n in numbers)


def test_tracking_number_without_rng_uses_system_randomness() -> None:
    assert is_valid_tracking_no(new_tracking_no(at("2026-01-05T12:00")))


# --- access codes -----------------------------------------------------------------


def test_access_codes() -> None:
    codes = {new_access_code() for _ in range(1000)}
    assert len(codes) == 1000
    for code in codes:
        assert len(code) == ACCESS_CODE_LENGTH and set(code) <= set(ACCESS_CODE_ALPHABET)
    assert not set("0O1IL") & set(ACCESS_CODE_ALPHABET)


KEY = b"k" * 32


def test_access_code_hash_and_verify() -> None:
    code = new_access_code()
    stored = hash_access_code(code, KEY)
    assert code not in stored and stored.startswith("hmac-sha256$")
    assert hash_access_code(code, KEY) != stored  # salted
    assert verify_access_code(stored, code, KEY)
    assert verify_access_code(stored, f" {code[:4].lower()}-{code[4:]} ", KEY)
    other = next(c for c in iter(new_access_code, None) if c != code)
    assert not verify_access_code(stored, other, KEY)
    assert not verify_access_code(stored, "", KEY)
    # Without the key the stored hash is of no use for trying codes.
    assert not verify_access_code(stored, code, b"x" * 32)
    for broken in ("not a hash", "hmac-sha256$$", "hmac-sha256$!!$??", stored + "A"):
        assert not verify_access_code(broken, code, KEY)


def test_access_codes_issued_with_argon2_still_verify() -> None:
    legacy = PasswordHasher().hash("ABCD2345")
    assert verify_access_code(legacy, "abcd-2345", KEY)
    assert not verify_access_code(legacy, "ABCD2346", KEY)


# --- duplicates -------------------------------------------------------------------

PHONE = "13812345678"
NOW = at("2026-11-27T10:00")

REPHRASED = [
    (
        "我上周三在政务服务中心3号窗口办理社保卡，工作人员态度很差，用不文明语言骂人，还让我回去等通知。",
        "来电人反映上周三在政务服务中心3号窗口办社保卡时，窗口工作人员态度恶劣、出口骂人，要求处理该工作人员。",
    ),
    (
        "12路公交车司机不按站点停车，多次甩站，早上7点多在人民路站等了半小时也没上车。",
        "投诉12路公交甩站，人民路站早高峰司机不停车，等了三十分钟。",
    ),
    (
        "我家小区从昨天开始停水，打了供水维修电话到现在还没有人来修。",
        "幸福小区停水两天了，报修后一直没人来维修，请尽快处理。",
    ),
    (
        "不动产登记中心办理过户，材料交了三次，每次都说缺不同的材料，没有一次性告知。",
        "办理房屋过户登记时工作人员没有一次性告知所需材料，让我来回跑了三趟。",
    ),
    (
        "人民路上的路灯连续一周不亮，报修了也没人管",
        "人民路路灯坏了一个星期了，晚上很黑，报修没人处理",
    ),
    (
        "社保卡补办已经过了10个工作日还没拿到卡",
        "补办社保卡超过承诺的十个工作日了，卡还没有制好",
    ),
]

DIFFERENT = [
    (
        "我上周三在政务服务中心3号窗口办理社保卡，工作人员态度很差，用不文明语言骂人，还让我回去等通知。",
        "政务服务中心卫生间很脏，地上都是水，也没有人打扫。",
    ),
    (
        "我上周三在政务服务中心3号窗口办理社保卡，工作人员态度很差，用不文明语言骂人，还让我回去等通知。",
        "我在政务服务中心办理社保卡，已经过了承诺的时限还没有办好，工作人员也说不清楚原因。",
    ),
    (
        "不动产登记中心办理过户，材料交了三次，每次都说缺不同的材料，没有一次性告知。",
        "不动产登记中心窗口工作人员上班时间玩手机，让群众排队等候。",
    ),
    (
        "我家小区从昨天开始停水，打了供水维修电话到现在还没有人来修。",
        "我家门口的水管上个月修过以后又漏水了，维修质量太差。",
    ),
    (
        "小区门口的路灯坏了半个月，晚上一片漆黑，没人来修",
        "小区停水两天了，报修后一直没人来维修",
    ),
    (
        "社保卡补办已经过了10个工作日还没拿到卡",
        "医保报销的钱少算了，窗口说不清楚是怎么计算的",
    ),
]


def candidate(cid: str, text: str, received: datetime = NOW, **contact: str) -> DuplicateCandidate:
    return DuplicateCandidate(complaint_id=cid, received_at=received, text=text, **contact)


@pytest.mark.parametrize(("earlier", "later"), REPHRASED)
def test_rephrased_complaint_by_the_same_person_matches(earlier: str, later: str) -> None:
    old = candidate("old", earlier, NOW - timedelta(days=3), phone=PHONE)
    new = candidate("new", later, phone=f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
    [match] = find_duplicates(new, [old], NOW)
    assert match.complaint_id == "old" and match.matched_on == (ContactKey.PHONE,)
    assert match.score >= DEFAULT_THRESHOLD
    assert "同一联系电话" in match.reason() and "same phone number" in match.reason("en")


@pytest.mark.parametrize(("earlier", "later"), DIFFERENT)
def test_different_complaint_by_the_same_person_does_not_match(earlier: str, later: str) -> None:
    old = candidate("old", earlier, NOW - timedelta(days=3), phone=PHONE)
    new = candidate("new", later, phone=PHONE)
    assert similarity(earlier, later) < DEFAULT_THRESHOLD
    assert find_duplicates(new, [old], NOW) == []


def test_similarity_bounds() -> None:
    text = REPHRASED[0][0]
    assert similarity(text, text) == 1.0
    assert similarity(text, "") == 0.0
    assert similarity(text, "！！！") == 0.0
    a, b = REPHRASED[1]
    assert similarity(a, b) == similarity(b, a)


def test_same_text_from_someone_else_or_long_ago_does_not_match() -> None:
    text_a, text_b = REPHRASED[0]
    new = candidate("new", text_b, phone=PHONE)
    stranger = candidate("x", text_a, NOW - timedelta(days=1), phone="13900000000")
    old = candidate("y", text_a, NOW - timedelta(days=31), phone=PHONE)
    itself = candidate("new", text_b, phone=PHONE)
    assert find_duplicates(new, [stranger, old, itself], NOW) == []
    assert [m.complaint_id for m in find_duplicates(new, [old], NOW, window_days=40)] == ["y"]
    anonymous = candidate("anon", text_b)
    assert find_duplicates(anonymous, [candidate("z", text_a, NOW)], NOW) == []


def test_email_and_name_with_address_are_contacts_too() -> None:
    text_a, text_b = REPHRASED[1]
    by_email = candidate("a", text_a, NOW - timedelta(days=2), email="Li.Ming@Example.com ")
    by_home = candidate("b", text_a, NOW - timedelta(days=5), name="李明", address="人民路 12 号")
    weaker = candidate("c", REPHRASED[1][0][:20], NOW - timedelta(days=1), phone=PHONE)
    new = DuplicateCandidate.of(
        "new",
        NOW,
        Complainant(name="李明", address="人民路12号", email="li.ming@example.com", phone=PHONE),
        "公交甩站",
        text_b,
    )
    matches = find_duplicates(new, [weaker, by_home, by_email], NOW)
    assert {m.complaint_id for m in matches} <= {"a", "b", "c"}
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    by_id = {m.complaint_id: m for m in matches}
    assert by_id["a"].matched_on == (ContactKey.EMAIL,)
    assert by_id["b"].matched_on == (ContactKey.NAME_ADDRESS,)
    assert "同一姓名和地址" in by_id["b"].reason("zh-CN")
    # A name alone is no contact: many people share one.
    same_name = candidate("d", text_a, NOW, name="李明", address="解放路1号")
    assert find_duplicates(new, [same_name], NOW) == []


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("138 1234 5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("010-6512 3456", "01065123456"),
        ("(+86) 10 6512 3456", "1065123456"),
        ("123", None),
    ],
)
def test_phone_normalisation(typed: str, normal: str | None) -> None:
    assert normalize_phone(typed) == normal


# --- notices ----------------------------------------------------------------------

CONTACTS = NoticeContacts(
    org_name=Localized(zh="某市政务服务管理办公室", en="City Government Services Office"),
    supervision_phone="0571-8888 0000",
    supervision_email="jiandu@example.gov.cn",
    hotline="12345",
    lookup_url="https://tousu.example.gov.cn/track",
)
NUMBER = "TS2609-12345-67890"
DUE = datetime(2026, 10, 15, 23, 59, 59, 999999, tzinfo=TZ)

FULL: dict[NoticeKind, dict[str, Any]] = {
    NoticeKind.ACCEPTANCE: {
        "category": "service_quality",
        "subcategory": "attitude",
        "service_item": "social_security_card",
        "department": "human_resources",
        "received_at": at("2026-09-17T16:20"),
        "accepted_at": at("2026-09-18T10:00"),
        "feedback_due": DUE,
    },
    NoticeKind.REJECTION: {
        "reason": "该事项属于劳动争议",
        "suggestion": "请向劳动人事争议仲裁委员会申请仲裁",
    },
    NoticeKind.EXTENSION: {
        "feedback_due": datetime(2026, 10, 29, 23, 59, tzinfo=TZ),
        "previous_due": DUE,
        "working_days": 10,
        "reason": "需要现场勘查并调取监控录像",
    },
    NoticeKind.PROGRESS: {
        "progress": "已调取当日监控录像，正在约谈涉事工作人员",
        "department": "human_resources",
        "feedback_due": DUE,
    },
    NoticeKind.RESULT: {
        "result": "涉事工作人员已被批评教育并向您道歉",
        "basis": "《窗口服务规范》第五条",
        "improvements": "组织窗口人员开展文明服务培训",
        "department": "human_resources",
        "follow_up_due": date(2026, 10, 20),
    },
    NoticeKind.FOLLOW_UP_SURVEY: {
        "fed_back_at": at("2026-10-14T15:00"),
        "survey_url": "https://tousu.example.gov.cn/survey",
        "respond_by": date(2026, 10, 21),
    },
    NoticeKind.ACCESS_CODE: {"access_code": "7KQ2-M9XD", "acceptance_due": DUE},
    NoticeKind.RECEIPT: {
        "access_code": "7KQ2-M9XD",
        "received_at": at("2026-09-17T16:20"),
        "acceptance_due": DUE,
        "acceptance_days": 2,
        "feedback_days": 5,
        "follow_up_days": 3,
        "reply_channel": "短信",
        "service_item": "social_security_card",
    },
}
MINIMAL: dict[NoticeKind, dict[str, Any]] = {
    NoticeKind.ACCEPTANCE: {
        "category": "misconduct",
        "accepted_at": at("2026-09-18T10:00"),
        "feedback_due": DUE,
    },
    NoticeKind.REJECTION: {"reason_code": "labour_dispute"},
    NoticeKind.EXTENSION: {"feedback_due": DUE, "reason": ""},
    NoticeKind.PROGRESS: {"progress": "正在调查核实"},
    NoticeKind.RESULT: {"result": "已整改", "basis": "服务承诺"},
    NoticeKind.FOLLOW_UP_SURVEY: {},
    NoticeKind.ACCESS_CODE: {"access_code": "7KQ2-M9XD"},
    NoticeKind.RECEIPT: {
        "access_code": "7KQ2-M9XD",
        "received_at": at("2026-09-17T16:20"),
        "acceptance_days": 2,
        "feedback_days": 15,
        "follow_up_days": 3,
    },
}
TITLES = {
    NoticeKind.ACCEPTANCE: ("受理告知书", "Notice of Acceptance"),
    NoticeKind.REJECTION: ("不予受理告知书", "Notice of Non-acceptance"),
    NoticeKind.EXTENSION: ("延期告知书", "Notice of Extension"),
    NoticeKind.PROGRESS: ("处理进展告知", "Progress Update"),
    NoticeKind.RESULT: ("处理结果反馈", "Result of Your Complaint"),
    NoticeKind.FOLLOW_UP_SURVEY: ("回访及满意度调查", "Follow-up and Satisfaction Survey"),
    NoticeKind.ACCESS_CODE: ("投诉登记告知", "Your Complaint Is Registered"),
    NoticeKind.RECEIPT: ("投诉登记回执", "Complaint Receipt"),
}
LEFTOVER = re.compile(r"\$|\{|\}|None")


def test_notice_kinds() -> None:
    assert {k.value for k in NoticeKind} == {
        "acceptance",
        "rejection",
        "extension",
        "progress",
        "result",
        "follow_up_survey",
        "access_code",
        "receipt",
    }
    assert set(FIELDS) == set(NoticeKind)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_renders_fully_in_both_languages(kind: NoticeKind, lang: str) -> None:
    notice = render_notice(
        kind,
        lang,
        contacts=CONTACTS,
        tracking_no=NUMBER,
        complainant_name="张先生",
        subject="窗口人员态度差",
        issued_at=date(2026, 9, 18),
        **FULL[kind],
    )
    assert notice.title == TITLES[kind][0 if lang == "zh-CN" else 1]
    text = notice.text
    assert not LEFTOVER.search(text), text
    for value in (NUMBER, "张先生", "窗口人员态度差", "0571-8888 0000", "jiandu@example.gov.cn"):
        assert value in text
    assert CONTACTS.org_name.get(lang) in text
    assert format_date(date(2026, 9, 18), lang) in text  # the signature date
    for field in FULL[kind].values():
        if isinstance(field, str) and not field.isascii():
            assert field in text, field  # free texts appear as given


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_optional_lines_are_left_out(kind: NoticeKind, lang: str) -> None:
    notice = render_notice(kind, lang, contacts=CONTACTS, tracking_no=NUMBER, **MINIMAL[kind])
    assert not LEFTOVER.search(notice.text), notice.text
    assert NUMBER in notice.body
    assert ("您好：" if lang == "zh" else "Dear complainant,") in notice.body
    assert "投诉事项：" not in notice.body and "Subject:" not in notice.body


def test_acceptance_names_and_dates_in_the_readers_language() -> None:
    fields: dict[str, Any] = {"contacts": CONTACTS, "tracking_no": NUMBER}
    fields |= FULL[NoticeKind.ACCEPTANCE]
    zh = render_notice(NoticeKind.ACCEPTANCE, "zh-CN", **fields).body
    en = render_notice("acceptance", "en", **fields).body
    assert "投诉类别：服务质量 / 服务态度" in zh
    assert "服务事项：社保卡办理" in zh
    assert "转交市人力资源和社会保障局办理" in zh
    assert "2026年10月15日前" in zh and "已于2026年9月18日正式受理" in zh
    assert "Category: Service quality / Staff attitude" in en
    assert "by 15 October 2026" in en
    assert "https://tousu.example.gov.cn/track" in zh
    # Not yet routed: the notice says the responsible department.
    minimal = render_notice(
        "acceptance", "zh", contacts=CONTACTS, tracking_no=NUMBER, **MINIMAL[NoticeKind.ACCEPTANCE]
    )
    assert "转交责任部门办理" in minimal.body
    assert "2026年9月18日" in minimal.body.rsplit("\n", 1)[-1]  # signed on the acceptance day


def test_rejection_reason_from_the_taxonomy(taxonomy: Taxonomy) -> None:
    labour = taxonomy.out_of_scope("labour_dispute")
    for lang in ("zh", "en"):
        body = render_notice(
            "rejection", lang, contacts=CONTACTS, tracking_no=NUMBER, reason_code="labour_dispute"
        ).body
        assert labour.reason.get(lang) in body and labour.referral.get(lang) in body
    own = render_notice(
        "rejection",
        "zh",
        contacts=CONTACTS,
        tracking_no=NUMBER,
        reason_code="labour_dispute",
        suggestion="请拨打12333",
    ).body
    assert "处理建议：请拨打12333" in own and labour.reason.zh in own


def test_notice_fields_are_checked() -> None:
    base: dict[str, Any] = {"contacts": CONTACTS, "tracking_no": NUMBER}
    with pytest.raises(ValidationError, match="reason_code"):
        render_notice("rejection", "zh", **base, reason="不属于受理范围")
    with pytest.raises(ValidationError, match="progres"):
        render_notice("progress", "zh", **base, progres="typo")
    with pytest.raises(ValidationError, match="contacts"):
        render_notice("progress", "zh", tracking_no=NUMBER, progress="x")
    with pytest.raises(ValidationError, match="feedback_due"):
        render_notice(
            "acceptance", "zh", **base, category="misconduct", accepted_at=at("2026-09-18T10:00")
        )
    with pytest.raises(ValueError, match="letter"):
        render_notice("letter", "zh", **base)
    with pytest.raises(UnsupportedLanguage):
        render_notice("progress", "fr", **base, progress="x")
    with pytest.raises(UnknownCode):
        render_notice(
            "acceptance", "zh", **base, **{**MINIMAL[NoticeKind.ACCEPTANCE], "category": "nope"}
        )


def test_inserted_text_is_plain_text() -> None:
    body = render_notice(
        "progress", "zh", contacts=CONTACTS, tracking_no=NUMBER, progress="<b>已处理</b> & ${x}"
    ).body
    assert "<b>已处理</b> & ${x}" in body  # escaping is the web page's job


def test_dates() -> None:
    assert format_date(date(2026, 10, 15), "zh-CN") == "2026年10月15日"
    assert format_date(date(2026, 10, 5), "en") == "5 October 2026"
    # 18:00 UTC is already the next day in Shanghai.
    assert format_date(datetime(2026, 10, 14, 18, tzinfo=UTC), "zh") == "2026年10月15日"


def test_notice_texts_fits_the_decision_renderer_shape() -> None:
    render = NoticeTexts(CONTACTS)
    text = render("progress", "zh-CN", tracking_no=NUMBER, progress="正在调查")
    assert text.startswith("处理进展告知\n\n") and "正在调查" in text


def test_extension_length_reads_naturally() -> None:
    one: dict[str, Any] = {"contacts": CONTACTS, "tracking_no": NUMBER}
    one |= {"feedback_due": DUE, "working_days": 1}
    assert "Extended by: 1 working day\n" in render_notice("extension", "en", **one).body
    assert "延长期限：1个工作日" in render_notice("extension", "zh", **one).body
