"""The Henan demo: regions with their real division codes, offices, a consumer association,
enterprises, staff, mediators, consumers and cases in every state."""

from datetime import date, timedelta

from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, User, UserRole
from odr.disputes import intake, joint, records
from odr.disputes import operations as ops
from odr.disputes import requests as service_requests
from odr.disputes.models import (
    BodyKind,
    BodyMembership,
    ConsumerWarning,
    Enterprise,
    EnterpriseStatus,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.extensions import db
from odr.types import utcnow

P = "Demo-2026!"
# The names the demo enterprises use in English (searchable, shown to English readers).
ENGLISH_NAMES = {
    "河南丹尼斯百货有限公司": "Henan Dennis Department Store Co., Ltd.",
    "洛阳牡丹家电有限公司": "Luoyang Peony Home Appliances Co., Ltd.",
}
DEMO_LOGINS = [
    ("admin", "admin@odr.demo", P),
    ("mediator", "mediator@odr.demo", P),
    ("mediator", "mediator2@odr.demo", P),
    ("mediator", "luoyang.mediator@odr.demo", P),
    ("mediator", "city.mediator@odr.demo", P),
    ("mediator", "zhongyuan.mediator@odr.demo", P),
    ("mediator", "erqi.mediator@odr.demo", P),
    ("mediator", "luoyang.city.mediator@odr.demo", P),
    ("mediator", "henan.mediator@odr.demo", P),
    ("mediator", "xihu.mediator@odr.demo", P),
    ("mediator", "association.mediator@odr.demo", P),
    ("enterprise", "owner@dennis.demo", P),
    ("enterprise", "agent@dennis.demo", P),
    ("enterprise", "owner@mudan.demo", P),
    ("enterprise", "owner@erqi-snacks.demo", P),
    ("consumer", "consumer@odr.demo", P),
    ("consumer", "consumer.en@odr.demo", P),
    ("intake", "hotline@odr.demo", P),
    ("intake", "station@odr.demo", P),
]

REGIONS = [
    ("410000", "河南省", "Henan Province", RegionLevel.PROVINCE, None),
    ("410100", "郑州市", "Zhengzhou", RegionLevel.CITY, "410000"),
    ("410102", "中原区", "Zhongyuan District", RegionLevel.COUNTY, "410100"),
    ("410103", "二七区", "Erqi District", RegionLevel.COUNTY, "410100"),
    ("410105", "金水区", "Jinshui District", RegionLevel.COUNTY, "410100"),
    ("410105001", "经八路街道", "Jingbalu Subdistrict", RegionLevel.STATION, "410105"),
    ("410300", "洛阳市", "Luoyang", RegionLevel.CITY, "410000"),
    ("410302", "老城区", "Laocheng District", RegionLevel.COUNTY, "410300"),
    ("410311", "洛龙区", "Luolong District", RegionLevel.COUNTY, "410300"),
    ("330000", "浙江省", "Zhejiang Province", RegionLevel.PROVINCE, None),
    ("330100", "杭州市", "Hangzhou", RegionLevel.CITY, "330000"),
    ("330106", "西湖区", "Xihu District", RegionLevel.COUNTY, "330100"),
]

BODIES = [
    # key, name, English name, kind, region, level, parent key
    (
        "henan",
        "河南省市场监督管理局",
        "Henan Administration for Market Regulation",
        BodyKind.OFFICE,
        "410000",
        RegionLevel.PROVINCE,
        None,
    ),
    (
        "zhengzhou",
        "郑州市市场监督管理局",
        "Zhengzhou Administration for Market Regulation",
        BodyKind.OFFICE,
        "410100",
        RegionLevel.CITY,
        "henan",
    ),
    (
        "jinshui",
        "郑州市金水区市场监督管理局",
        "Jinshui District Market Regulation Office",
        BodyKind.OFFICE,
        "410105",
        RegionLevel.COUNTY,
        "zhengzhou",
    ),
    (
        "jingbalu",
        "金水区市场监督管理局经八路市场监管所",
        "Jingbalu Market Regulation Station",
        BodyKind.OFFICE,
        "410105001",
        RegionLevel.STATION,
        "jinshui",
    ),
    (
        "zhongyuan",
        "郑州市中原区市场监督管理局",
        "Zhongyuan District Market Regulation Office",
        BodyKind.OFFICE,
        "410102",
        RegionLevel.COUNTY,
        "zhengzhou",
    ),
    (
        "erqi",
        "郑州市二七区市场监督管理局",
        "Erqi District Market Regulation Office",
        BodyKind.OFFICE,
        "410103",
        RegionLevel.COUNTY,
        "zhengzhou",
    ),
    (
        "luoyang",
        "洛阳市市场监督管理局",
        "Luoyang Administration for Market Regulation",
        BodyKind.OFFICE,
        "410300",
        RegionLevel.CITY,
        "henan",
    ),
    (
        "laocheng",
        "洛阳市老城区市场监督管理局",
        "Laocheng District Market Regulation Office",
        BodyKind.OFFICE,
        "410302",
        RegionLevel.COUNTY,
        "luoyang",
    ),
    (
        "association",
        "河南省消费者协会",
        "Henan Consumer Association",
        BodyKind.ASSOCIATION,
        "410000",
        RegionLevel.PROVINCE,
        None,
    ),
    (
        "xihu",
        "杭州市西湖区市场监督管理局",
        "Xihu District Market Regulation Office",
        BodyKind.OFFICE,
        "330106",
        RegionLevel.COUNTY,
        None,
    ),
]


def _complaint(
    consumer,
    enterprise,
    subject,
    issue,
    amount,
    claimed,
    facts,
    requests,
    *,
    green=True,
    days_ago=1,
):
    now = utcnow() - timedelta(days=days_ago)
    return ops.file_complaint(
        consumer,
        {
            "enterprise_id": enterprise.id,
            "green_channel": green,
            "subject_kind": "goods",
            "subject": subject,
            "purchase_date": (date.today() - timedelta(days=days_ago + 20)).isoformat(),
            "purchase_place": enterprise.address,
            "amount": amount,
            "issue": issue,
            "requests": requests,
            "claimed_amount": claimed,
            "facts": facts,
            "identity_declared": True,
        },
        now=now,
    ), now


def seed_demo() -> list[tuple[str, str, str]]:
    for code, name, name_en, level, parent in REGIONS:
        if db.session.get(Region, code) is None:
            db.session.add(
                Region(code=code, name=name, name_en=name_en, level=level, parent_code=parent)
            )
    db.session.flush()
    bodies: dict[str, MediationBody] = {}
    for key, name, name_en, kind, region, level, parent in BODIES:
        body = MediationBody(
            name=name,
            name_en=name_en,
            kind=kind,
            region_code=region,
            level=level,
            parent_id=bodies[parent].id if parent else None,
        )
        db.session.add(body)
        db.session.flush()
        bodies[key] = body

    def user(role, email, name, **kw):
        return auth_ops.create_user(role=role, email=email, password=P, name=name, **kw)

    user(UserRole.ADMIN, "admin@odr.demo", "省局管理员 Admin")
    mediators = {
        "mediator@odr.demo": ("王调解 Wang Tiaojie", "jinshui", True),
        "mediator2@odr.demo": ("李平 Li Ping", "jinshui", False),
        "luoyang.mediator@odr.demo": ("赵洛 Zhao Luo", "laocheng", True),
        "city.mediator@odr.demo": ("陈市 Chen Shi", "zhengzhou", True),
        # Every office that can receive a case has someone who can act on it
        # (routing.staffed_office); the station under Jinshui receives none.
        "zhongyuan.mediator@odr.demo": ("周原 Zhou Yuan", "zhongyuan", True),
        "erqi.mediator@odr.demo": ("吴七 Wu Qi", "erqi", True),
        "luoyang.city.mediator@odr.demo": ("孙洛 Sun Luo", "luoyang", True),
        "henan.mediator@odr.demo": ("郑豫 Zheng Yu", "henan", True),
        "xihu.mediator@odr.demo": ("钱湖 Qian Hu", "xihu", True),
        "association.mediator@odr.demo": ("冯协 Feng Xie", "association", True),
    }
    med_users = {}
    for email, (name, body_key, head) in mediators.items():
        m = user(UserRole.MEDIATOR, email, name)
        db.session.add(BodyMembership(user_id=m.id, body_id=bodies[body_key].id, is_head=head))
        med_users[email] = m
    db.session.flush()

    def enterprise(name, code, region, address, phone, status, owner_email, owner_name):
        e = Enterprise(
            name=name,
            credit_code=code,
            region_code=region,
            address=address,
            contact_phone=phone,
            status=status,
            commitment=True,
            approved_at=utcnow() if status == EnterpriseStatus.APPROVED else None,
        )
        db.session.add(e)
        db.session.flush()
        e.name_en = ENGLISH_NAMES.get(name)
        owner = user(
            UserRole.ENTERPRISE, owner_email, owner_name, enterprise=e, staff_role=StaffRole.OWNER
        )
        return e, owner

    dennis, dennis_owner = enterprise(
        "河南丹尼斯百货有限公司",
        "91410105MA44DNX7Q0",
        "410105",
        "郑州市金水区花园路59号",
        "0371-65951234",
        EnterpriseStatus.APPROVED,
        "owner@dennis.demo",
        "丹尼斯客服主管 Zhang",
    )
    dennis_agent = user(
        UserRole.ENTERPRISE,
        "agent@dennis.demo",
        "客服专员 Liu",
        enterprise=dennis,
        staff_role=StaffRole.AGENT,
    )
    mudan, mudan_owner = enterprise(
        "洛阳牡丹家电有限公司",
        "91410302MA45LUY8PF",
        "410302",
        "洛阳市老城区中州东路88号",
        "0379-63921111",
        EnterpriseStatus.APPROVED,
        "owner@mudan.demo",
        "牡丹家电 Sun",
    )
    enterprise(
        "郑州二七小吃店",
        "92410103MA46BK2X8U",
        "410103",
        "郑州市二七区大学路12号",
        "0371-68881234",
        EnterpriseStatus.PENDING,
        "owner@erqi-snacks.demo",
        "二七小吃 Ma",
    )

    consumer = auth_ops.register_consumer(
        email="consumer@odr.demo",
        password=P,
        name="张消费",
        phone="13800138000",
        region_code="410105",
        address="郑州市金水区文化路100号",
        locale="zh_CN",
    )
    consumer_en = auth_ops.register_consumer(
        email="consumer.en@odr.demo",
        password=P,
        name="Alex Consumer",
        phone="13900139000",
        region_code="410302",
        address="Laocheng District, Luoyang",
        locale="en",
    )

    jinshui_head = med_users["mediator@odr.demo"]

    # negotiating, fresh
    _complaint(
        consumer,
        dennis,
        "羽绒服 (down jacket)",
        "quality",
        "1299.00",
        "1299.00",
        "购买三天后拉链损坏，要求退货退款。",
        ["return", "refund"],
    )
    # negotiating with an open offer
    c, t = _complaint(
        consumer,
        dennis,
        "电饭煲 rice cooker",
        "after_sales",
        "459.00",
        "459.00",
        "电饭煲无法加热，商家拒绝保修。",
        ["repair", "replace"],
        days_ago=3,
    )
    ops.make_offer(
        dennis_agent,
        c,
        remedy="replace",
        amount="0.00",
        terms="三日内上门更换同型号新品。",
        performance_due=None,
        now=t + timedelta(hours=5),
    )
    # settled
    c, t = _complaint(
        consumer_en,
        mudan,
        "Air conditioner",
        "quality",
        "3999.00",
        "800.00",
        "The air conditioner leaks water. 空调漏水。",
        ["repair", "compensation"],
        days_ago=9,
    )
    offer = ops.make_offer(
        mudan_owner,
        c,
        remedy="repair",
        amount="300.00",
        terms="Free repair within 5 days and CNY 300 compensation.",
        performance_due=(date.today() + timedelta(days=10)).isoformat(),
        now=t + timedelta(days=1),
    )
    ops.accept_offer(consumer_en, c, offer.id, now=t + timedelta(days=2))
    # pending acceptance (enterprise declined)
    c, t = _complaint(
        consumer,
        dennis,
        "会员卡 prepaid card",
        "prepaid_card",
        "2000.00",
        "1500.00",
        "门店关闭后预付卡余额无法使用。",
        ["refund"],
        days_ago=6,
    )
    ops.decline(dennis_owner, c, reason="Card issued by a franchisee.", now=t + timedelta(days=1))
    # pending acceptance, not green channel
    _complaint(
        consumer,
        dennis,
        "皮鞋 leather shoes",
        "counterfeit",
        "899.00",
        "2697.00",
        "疑似假冒品牌，要求退一赔三。",
        ["refund", "compensation"],
        green=False,
        days_ago=2,
    )
    # mediating
    c, t = _complaint(
        consumer,
        dennis,
        "手机 phone",
        "quality",
        "4999.00",
        "4999.00",
        "手机屏幕出现绿线，商家称人为损坏。",
        ["replace"],
        days_ago=12,
    )
    ops.escalate(consumer, c, now=t + timedelta(days=2))
    ops.accept_case(jinshui_head, c, now=t + timedelta(days=3))
    # suspended
    c, t = _complaint(
        consumer,
        dennis,
        "奶粉 infant formula",
        "food_safety",
        "398.00",
        "3980.00",
        "奶粉结块变色，申请检测。",
        ["refund", "compensation"],
        days_ago=15,
    )
    ops.escalate(consumer, c, now=t + timedelta(days=1))
    ops.accept_case(jinshui_head, c, now=t + timedelta(days=2))
    ops.suspend(jinshui_head, c, reason="送检中 (testing)", now=t + timedelta(days=4))
    # mediated
    c, t = _complaint(
        consumer,
        dennis,
        "沙发 sofa",
        "contract",
        "6800.00",
        "1000.00",
        "沙发颜色与合同约定不符。",
        ["compensation"],
        days_ago=20,
    )
    ops.decline(dennis_owner, c, now=t + timedelta(days=1))
    ops.accept_case(jinshui_head, c, now=t + timedelta(days=2))
    ops.propose_agreement(
        jinshui_head,
        c,
        terms="商家补偿消费者人民币伍佰元整。",
        amount="500.00",
        performance_due=None,
        now=t + timedelta(days=5),
    )
    ops.sign_agreement(consumer, c, now=t + timedelta(days=6))
    ops.sign_agreement(dennis_owner, c, now=t + timedelta(days=6, hours=2))
    # refused
    c, t = _complaint(
        consumer,
        dennis,
        "装修 renovation",
        "contract",
        "50000.00",
        "20000.00",
        "装修工程纠纷，已起诉至法院。",
        ["compensation"],
        green=False,
        days_ago=8,
    )
    ops.refuse_case(
        jinshui_head, c, reason="R2", explanation="已由人民法院受理。", now=t + timedelta(days=2)
    )
    # terminated
    c, t = _complaint(
        consumer,
        dennis,
        "健身卡 gym card",
        "prepaid_card",
        "3000.00",
        "3000.00",
        "健身房停业。",
        ["refund"],
        days_ago=25,
    )
    ops.escalate(consumer, c, now=t + timedelta(days=1))
    ops.accept_case(jinshui_head, c, now=t + timedelta(days=2))
    ops.terminate(
        jinshui_head,
        c,
        reason="T4",
        explanation="双方均表示无法达成一致。",
        now=t + timedelta(days=10),
    )
    # withdrawn
    c, t = _complaint(
        consumer,
        mudan,
        "洗衣机 washing machine",
        "after_sales",
        "2599.00",
        "0.00",
        "安装延误。",
        ["redo"],
        days_ago=4,
    )
    ops.withdraw(consumer, c, reason="已自行解决", now=t + timedelta(days=1))

    # The platform's other request types, and a published consumer warning.
    service_requests.file_request(
        consumer,
        "consultation",
        {
            "subject": "预付卡退费咨询 (prepaid card refund)",
            "text": "健身房转让后不认可原会员卡，应当如何维权？",
        },
    )
    service_requests.file_request(
        consumer,
        "report",
        {
            "enterprise_id": mudan.id,
            "subject": "虚假宣传 (false advertising)",
            "text": "店内宣传“全市最低价”，与实际不符。",
            "real_name": True,
        },
    )

    # A joint complaint (共同投诉) still gathering members: two consumers, one story.
    def claim(days_ago, amount, facts):
        return {
            "purchase_date": (date.today() - timedelta(days=days_ago)).isoformat(),
            "amount": amount,
            "claimed_amount": amount,
            "requests": ["refund"],
            "facts": facts,
        }

    group = joint.start(
        consumer,
        {
            "enterprise_id": dennis.id,
            "issue": "prepaid_card",
            "subject_kind": "service",
            "subject": "会员储值卡停止服务 (prepaid membership card no longer honoured)",
            "facts": "门店停业，储值卡余额无法使用，也不予退款。",
            **claim(40, "2000.00", "储值卡余额 2000 元无法使用。"),
        },
    )
    joint.join(
        consumer_en,
        group,
        claim(35, "1500.00", "A 1,500 yuan balance on the card can no longer be used."),
    )
    admin = db.session.scalar(db.select(User).where(User.email == "admin@odr.demo"))
    _seed_intake(admin, bodies, dennis)
    db.session.add(
        ConsumerWarning(
            title="关于预付式消费的消费提示 (Prepaid cards: a consumer warning)",
            body="办理预付卡前，请核实经营者资质，保留合同和付款凭证，谨慎一次性大额充值。\n"
            "Before buying a prepaid card, check the business, keep the contract and receipts, "
            "and avoid large one-off top-ups.",
            author_id=admin.id,
            published_at=utcnow(),
        )
    )
    db.session.commit()
    # The demo's records exist at once, whether or not the worker is running yet.
    while records.render_due():
        pass
    return list(DEMO_LOGINS)


def _seed_intake(admin, bodies, respondent) -> None:
    """A 12315 hotline seat at the Jinshui office and a service station in a Jinshui mall
    with its staff member; the seat has taken a call (a complaint for a caller without an
    account, whose link went out by SMS) and answered a consultation."""

    station = intake.register_station(
        admin,
        {
            "name": "金水区国贸商场消费维权服务站",
            "name_en": "Jinshui Guomao Mall consumer service station",
            "office_id": bodies["jinshui"].id,
            "address": "郑州市金水区花园路38号国贸商场一楼服务台",
            "phone": "0371-65550315",
        },
    )
    seat = intake.create_intake_user(
        admin,
        email="hotline@odr.demo",
        password=P,
        name="12315坐席 孙接 Sun Jie",
        office_id=bodies["jinshui"].id,
    )
    intake.create_intake_user(
        admin,
        email="station@odr.demo",
        password=P,
        name="服务站 周站 Zhou Zhan",
        station_id=station.id,
    )
    intake.file_for_caller(
        seat,
        {
            "caller": {
                "name": "刘来电 Liu Laidian",
                "phone": "13703710315",
                "address": "郑州市金水区经三路12号",
            },
            "channel": "phone",
            "note": "来电人为老年人，不使用电子邮箱；已告知将收到短信链接。",
            "enterprise_id": respondent.id,
            "green_channel": True,
            "subject_kind": "goods",
            "subject": "电暖器 (electric heater)",
            "purchase_date": (utcnow() - timedelta(days=20)).date().isoformat(),
            "purchase_place": "丹尼斯百货花园路店",
            "amount": "459.00",
            "issue": "quality",
            "requests": ["replace"],
            "claimed_amount": "459.00",
            "facts": "电暖器使用一周后无法加热，要求更换。",
        },
    )
    intake.log_consultation(
        seat,
        {
            "caller": {"name": "钱咨询 Qian Zixun", "phone": "13803710315"},
            "topic": "prepaid_card",
            "question": "美容院关门，预付卡余额怎么办？",
            "answer": "保留购卡合同和付款凭证，可向经营者所在地市场监管部门投诉；"
            "多人受损可共同投诉。",
        },
    )
