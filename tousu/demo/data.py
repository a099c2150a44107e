"""The raw material of demo complaints: what people complain about, per
department, and who they are. All fictitious; phone numbers are 138xxxxxxxx."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    department: str  # where the routing rules are expected to send it
    subject: str
    description: str
    category: str
    subcategory: str | None = None
    service_item: str | None = None
    location: str | None = None
    demands: str | None = None


TOPICS: tuple[Topic, ...] = (
    Topic(
        "water",
        "小区停水未提前通知",
        "我们小区从昨天早上开始停水，供水公司没有提前张贴任何公告，家里老人孩子用水很困难，打热线只说在抢修，没有告知恢复时间。",
        "service_quality",
        "process",
        location="阳光花园小区",
        demands="请尽快恢复供水并说明停水原因。",
    ),
    Topic(
        "water",
        "报修水管破裂三天无人上门",
        "楼道里的水管破裂漏水，三天前已经报修，至今没有维修人员上门，楼道积水严重，存在安全隐患。",
        "service_result",
        "below_standard",
        service_item="water_repair",
        location="幸福里小区5栋",
    ),
    Topic(
        "water",
        "自来水发黄有异味",
        "最近一周家里自来水出水发黄，放一会儿才变清，有明显异味，担心水质不合格。",
        "service_result",
        "below_standard",
        location="城南新村",
        demands="请检测水质并公布结果。",
    ),
    Topic(
        "transport",
        "公交车司机不等乘客坐稳就急刹",
        "乘坐18路公交车时，司机起步和刹车都很急，一位老人差点摔倒，乘客提醒后司机态度恶劣。",
        "service_quality",
        "attitude",
        service_item="bus_service",
        location="18路公交车",
    ),
    Topic(
        "transport",
        "末班车提前发车",
        "6路公交末班车时刻表写的是22:30，但连续几天22:15就开走了，下夜班的人只能打车回家。",
        "service_quality",
        "process",
        location="火车站公交枢纽",
    ),
    Topic(
        "transport",
        "出租车拒载并绕路",
        "在火车站打出租车，司机先是嫌距离近拒载，换一辆后又故意绕路多收了二十多元。",
        "service_quality",
        "attitude",
        demands="请核查并退还多收的费用。",
    ),
    Topic(
        "public_security",
        "补办身份证来回跑了三次",
        "补办身份证，第一次说缺户口本，第二次说照片不合格，第三次又说要本人签字，每次都没有一次性告知。",
        "service_quality",
        "efficiency",
        service_item="household_registration",
        location="城东派出所户籍窗口",
    ),
    Topic(
        "public_security",
        "居住证办理超期未领到",
        "一个多月前提交的居住证申请，承诺15个工作日办结，到现在还没有通知领取，电话也打不通。",
        "service_quality",
        "efficiency",
    ),
    Topic(
        "human_resources",
        "社保卡补办一个月未制好",
        "社保卡丢失后去补办，窗口说两周可以领取，现在已经一个多月了还没有制好，影响看病报销。",
        "service_quality",
        "efficiency",
        service_item="social_security_card",
    ),
    Topic(
        "human_resources",
        "公司拖欠工资劳动监察不作为",
        "公司已经拖欠三个月工资，向劳动监察大队反映后一直没有人来核查，询问进展也没有答复。",
        "service_quality",
        "process",
        demands="请督促用人单位支付工资。",
    ),
    Topic(
        "natural_resources",
        "不动产登记超时限未办结",
        "二手房过户材料齐全，窗口承诺5个工作日出证，已经过去三周仍未办好，询问只说系统在审核。",
        "service_quality",
        "efficiency",
        service_item="real_estate_registration",
        location="市不动产登记中心",
    ),
    Topic(
        "natural_resources",
        "房产证信息登记错误",
        "新领的房产证上面积登记错误，申请更正后被告知需要重新提交全部材料。",
        "service_result",
        "wrong_information",
    ),
    Topic(
        "service_center",
        "办事大厅取号后等候三个小时",
        "上午九点在政务服务中心取号，窗口只开了两个，等了三个小时才轮到，工作人员还中途离岗。",
        "service_quality",
        "efficiency",
        service_item="window_service",
        location="市政务服务中心二楼",
    ),
    Topic(
        "service_center",
        "办事大厅空调不开座椅不足",
        "天气炎热，政务服务中心大厅不开空调，等候座椅很少，很多老人只能站着等。",
        "service_environment",
        "facilities",
        location="市民中心办事大厅",
    ),
    Topic(
        "service_center",
        "窗口工作人员态度冷漠",
        "咨询材料要求时，窗口工作人员一直看手机，回答问题很不耐烦，让我自己去网上查。",
        "service_quality",
        "attitude",
        location="便民服务中心",
    ),
    Topic(
        "healthcare_security",
        "异地就医报销迟迟不到账",
        "三个月前提交的异地就医医疗费用报销材料，至今没有到账，医保窗口说还在审核。",
        "service_quality",
        "efficiency",
        service_item="medical_insurance_claim",
    ),
    Topic(
        "market_regulation",
        "超市销售过期食品",
        "在小区门口超市购买的酸奶已经过期两天，店家拒绝退换，还说是我自己放过期的。",
        "service_result",
        "below_standard",
        location="和平路便民超市",
    ),
    Topic(
        "urban_management",
        "路灯坏了一个月没人修",
        "小区门口路段的路灯坏了一个多月，晚上一片漆黑，已经有人摔倒，报修后没有下文。",
        "service_result",
        "below_standard",
        service_item="street_light_repair",
        location="建设路与人民路交叉口",
    ),
)

# Out of scope (不予受理): the subject, the description, the taxonomy's kind.
OUT_OF_SCOPE: tuple[tuple[str, str, str], ...] = (
    ("咨询落户政策", "想咨询一下大学毕业生落户需要哪些材料，办理流程是什么。", "consultation"),
    (
        "邻居纠纷已经起诉",
        "和邻居因为漏水赔偿的事已经向法院起诉，希望政府帮我催一下判决。",
        "litigation",
    ),
    (
        "网购商品质量问题",
        "在网上买的手机有质量问题，商家不给退货，希望帮忙处理。",
        "consumer_dispute",
    ),
    ("建议增加公交线路", "建议在新开发的城北片区增加一条公交线路，方便居民出行。", "suggestion"),
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "晓燕",
    "海燕",
)
DISTRICTS = ("东城区", "西湖区", "滨江区", "城南区", "高新区", "开发区")
ROADS = ("人民路", "解放路", "建设路", "和平路", "中山路", "江南大道", "文化路", "新华路")
COMMUNITIES = ("阳光花园", "幸福里", "锦绣家园", "翠苑小区", "城南新村", "金色港湾")

HANDLING = {
    "findings": (
        "经现场核查，投诉反映情况基本属实。",
        "调取相关记录核实，确有办理超时情况。",
        "经调查，投诉反映问题部分属实。",
    ),
    "progress": (
        "已联系投诉人说明情况，正在协调相关单位处理。",
        "已安排专人跟进，预计本周内完成整改。",
    ),
    "result": (
        "已督促相关单位整改，问题已解决，并向投诉人致歉。",
        "已完成维修并恢复正常，对相关责任人进行了批评教育。",
        "已加急办理完毕，通知投诉人领取，并优化了办理流程。",
    ),
    "basis": ("服务承诺制度", "相关服务标准和操作规程", "投诉受理处理和服务承诺制度"),
    "improvements": (
        "加强窗口人员培训，推行一次性告知制度。",
        "建立定期巡查机制，缩短报修响应时间。",
    ),
}
