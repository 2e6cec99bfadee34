"""What the generated citizens write: descriptions composed from places × landmarks × objects × problems ×
details, so that word frequencies look like real traffic (a few streets and complaints very common, a long
tail of rare ones, and some matters raised again by neighbours within days), and each case's search terms
(services.routing.duplicates) as a binary tsvector ready for COPY.

Every fragment is tokenized with jieba once per process and cached: cases share fragments, not whole texts.
Fragments end at punctuation, so their words are the words jieba finds in the whole text.
"""

from __future__ import annotations

import random
import struct
from bisect import bisect
from itertools import accumulate
from typing import Any

from services.routing.words import distinct

# Streets and lanes of the old town; the first ones are far busier (the composer picks them by Zipf's law).
PLACES = """
平江路 白塔东路 干将东路 人民路 临顿路 凤凰街 十全街 道前街 三香路 东环路 南门路 新市路 养育巷 景德路
西中市 东中市 阊胥路 学士街 盘门路 友新路 桐泾北路 金门路 石路 山塘街 虎丘路 观前街 宫巷 太监弄 乔司空巷
钮家巷 大儒巷 中张家巷 悬桥巷 菉葭巷 仓街 娄门路 齐门路 北园路 东北街 西北街 皮市街 察院场 锦帆路 五卅路
公园路 十梓街 望星桥 葑门横街 竹辉路 吴衙场 南园路 三元坊 书院巷 侍其巷 南环西路 胥江路 枣市街 姑胥桥
彩香路 留园路 广济路 虎丘西路 西园路 白莲桥 南浩街 上塘街 桃花坞大街 潘儒巷 西百花巷 装驾桥巷 史家巷
白塔西路 干将西路 北寺塔 拙政园路 相门 护龙街 沧浪亭街 桐芳巷 平四路 苏锦新村 三元新村 彩香新村
""".split()  # noqa: SIM905 (a word list reads better as text)
# Estates and buildings: two name characters and a suffix. Unknown to jieba's dictionary, most names become
# words of their own (HMM), the long tail of rare words that real addresses bring.
_NAME_FIRST = "锦绣华金银玉翠碧春秋东西南北新龙凤瑞祥福康泰安和盛世嘉景丽雅馨怡彩虹星月阳光桂兰梅竹松柏枫荷莲桃李杏湖江海山云天恒宏裕润泽辉煌博文德仁义礼智信"
_NAME_SECOND = "苑庭轩阁园湾城府邸居都庄坊里岸汀洲港桥亭台楼院墅谷峰岭林溪泉泊涧塘湖滨畔湾景苑华晟悦樾璟珑"
ESTATE_SUFFIXES = ["花园", "新村", "公寓", "家园", "雅居", "名邸", "大厦", "小区"]
ESTATES = tuple(a + b for a in _NAME_FIRST for b in _NAME_SECOND)
LANDMARKS = """
小区 新村 花园 菜场 小学 幼儿园 公交站 停车场 街心公园 社区医院 十字路口 商业街 农贸市场 地铁站 老年活动中心
""".split()  # noqa: SIM905 (a word list reads better as text)
POSITIONS = ["门口", "附近", "旁边", "对面", "一带", "东侧", "西侧", "南侧", "北侧", "里面"]

# Per top-level category: what people complain about, each with what is wrong with it.
_OBJECTS_TEXT = {
    "urban": """
        井盖:松动 缺失 破损 塌陷|路灯:不亮 闪烁 损坏 白天常亮|垃圾桶:满溢 破损 异味很大 无人清运
        人行道:占道经营 地砖松动 被车辆占用 积水|绿化带:被毁 杂草丛生 树枝遮挡视线 枯死
        违章搭建:影响通行 占用消防通道 遮挡采光|广告牌:破损 有坠落风险|下水道:堵塞 返臭 冒水
    """,
    "housing": """
        电梯:频繁故障 困人 异响 年检过期|楼道:墙面渗水 堆放杂物 灯不亮 墙皮脱落
        二次供水:水质浑浊 水压不足 水箱未清洗|物业:服务差 乱收费 不作为 保安不在岗
        屋顶:漏水 防水层老化|外墙:瓷砖脱落 开裂|小区大门:门禁损坏 道闸故障
    """,
    "transport": """
        停车位:不足 被长期占用 乱收费|红绿灯:时长不合理 损坏 配时太短|公交站:被撤销 站牌损坏 班次太少
        路口:拥堵严重 缺少斑马线 视线遮挡|道路:坑洼不平 积水 破损 标线不清|非机动车:乱停放 逆行严重
        电动自行车:楼道充电 飞线充电
    """,
    "environment": """
        工地:夜间施工噪声 扬尘严重 渣土车撒漏|餐饮店:油烟直排 噪声扰民 污水乱排
        河道:发黑发臭 漂浮垃圾 排污口冒污水|垃圾分类:投放点设置不合理 混装混运 督导员缺位
        广场舞:音响声音太大|空调外机:噪声大 冷凝水滴水
    """,
    "utilities": """
        自来水:经常停水 水压低 水质发黄|供电:频繁停电 电压不稳 线路老化|燃气:管道老化 有异味 表具漏气
        手机信号:很差 经常断线|宽带:光纤无法接入 网速很慢|路边电箱:柜门未锁 有安全隐患|充电桩:故障 被燃油车占用
    """,
    "market": """
        食品:过期变质 无证加工 卫生很差|健身房:预付卡跑路 拒绝退款|理发店:办卡后关门 强制消费
        菜价:明码标价不实 短斤缺两|流动摊贩:无证经营 占道叫卖|药店:销售假药 价格虚高
    """,
    "social": """
        工资:拖欠半年 被克扣|社保:断缴 转移困难|医保:报销难 异地结算麻烦|助餐点:太少 饭菜质量差
        日间照料中心:关闭 服务不到位|低保:申请进度慢 被取消|残疾人补贴:没有到账
    """,
    "edu_health": """
        入学:划片不合理 积分入学不透明|校外培训:乱收费 退费难|校门口:接送拥堵 缺少护栏
        社区医院:挂号难 缺药 服务态度差|疫苗接种:预约难 排队时间长
    """,
    "rural_safety": """
        消防通道:被占用 堆放杂物|酒吧:夜间扰民 醉酒闹事|电瓶车:被盗 电池被偷|监控探头:损坏 覆盖不足
        村道:破损 没有路灯|宅基地:审批慢 纠纷|惠农补贴:未到账 发放不透明
    """,
}
OBJECTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    top: tuple(
        (obj, tuple(problems.split()))
        for obj, problems in (
            item.strip().split(":") for item in text.replace("\n", "|").split("|") if item.strip()
        )
    )
    for top, text in _OBJECTS_TEXT.items()
}
DETAILS = """
已经持续两个多月 从上周开始就这样 每天晚上十点以后最严重 下雨天尤其明显 老人和孩子出行很不方便 晚上看不清路
已经有人摔倒受伤 影响周边居民正常休息 之前打过热线电话 向社区反映过多次 物业说不归他们管 去年整改过一次又反弹了
周边商户意见很大 存在很大的安全隐患 附近是小学上下学时段人很多 外地游客也经常投诉 车辆经过时噪音很大
夏天气味特别难闻 消防车根本开不进来 救护车进出很困难 居民自己清理过但没有用 楼里住的大多是老年人
周末游客多的时候更严重 城管来过一次就没下文了 拍了照片和视频可以提供 孩子晚上被吵得睡不着
疫情以后一直没有恢复 隔壁小区已经修好了 我们这里一直没人管 电话打了好几次都说在处理 已经三年多了
租户太多管理混乱 单位说要等上级审批 几十户居民联名反映过 临街店铺晚上营业到凌晨
""".split()  # noqa: SIM905 (a word list reads better as text)
ASKS = """
希望尽快修复 请相关部门尽快处理 恳请人大代表督促落实 希望建立长效管理机制 请尽快安排人员现场查看
希望给个明确答复 希望加强日常巡查 希望彻底整改不要反弹 请派人来看一下 希望早日解决
""".split()  # noqa: SIM905 (a word list reads better as text)
# Default when the case's category has no objects of its own.
_FALLBACK = "urban"
CLUSTER = 0.12  # share of cases about the same place and matter as a case of the last few days
_MASK = (1 << 64) - 1
_CENTRE = (31.295, 120.595)  # south-west corner of the area the places lie in (about 4.5 km × 5 km)


def _mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit hash, so a case's topic is a pure function of its index."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _zipf(n: int, s: float) -> tuple[float, ...]:
    return tuple(accumulate(1 / (k + 1) ** s for k in range(n)))


def encode_tsvector(words: list[str]) -> bytes:
    """A tsvector in PostgreSQL's binary format without positions (what array_to_tsvector makes): the lexeme
    count, then each lexeme NUL-terminated with a zero position count, in byte order."""
    lexemes = sorted({w.encode() for w in words})
    return struct.pack("!i", len(lexemes)) + b"".join(w + b"\x00\x00\x00" for w in lexemes)


_WORDS: dict[str | None, tuple[str, ...]] = {None: ()}


def words_of(part: str | None) -> tuple[str, ...]:
    """The words of one part of a text (a place, an estate, a detail...), tokenized once per process. A case's
    terms are the union of its parts' words: near enough to cutting the whole text, and the number of
    distinct parts stays in the thousands while the number of distinct texts runs into the millions."""
    found = _WORDS.get(part)
    if found is None:
        found = _WORDS[part] = tuple(distinct(part or ""))
    return found


class Texts:
    """Composes the texts of case i (deterministic given the seed and the chunk's random stream)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.places = _zipf(len(PLACES), 0.8)
        self.estates = _zipf(len(ESTATES), 0.6)
        self.details = _zipf(len(DETAILS), 0.8)
        self.asks = _zipf(len(ASKS), 1.0)
        centres = []
        for k in range(len(PLACES)):
            h = _mix(seed * 1_000_003 + k)
            centres.append(
                (_CENTRE[0] + (h & 0xFFFF) / 0xFFFF * 0.04, _CENTRE[1] + (h >> 16 & 0xFFFF) / 0xFFFF * 0.05)
            )
        self.centres = tuple(centres)

    def _topic(self, i: int) -> tuple[int, str, int, int, int]:
        """Where (place, estate or landmark, position) and what (object, problem) case i is about."""
        h = _mix((self.seed << 40) ^ i)
        place = bisect(self.places, (h & 0xFFFFF) / 0x100000 * self.places[-1])
        if h >> 60 & 1:
            estate = bisect(self.estates, (h >> 20 & 0xFFFFF) / 0x100000 * self.estates[-1])
            building = ESTATES[estate] + ESTATE_SUFFIXES[(h >> 40) % len(ESTATE_SUFFIXES)]
        else:
            building = LANDMARKS[(h >> 20) % len(LANDMARKS)]
        return place, building, (h >> 28) % len(POSITIONS), h >> 44 & 0xFF, h >> 52 & 0xFF

    def compose(self, rng: random.Random, i: int, top: str, title: str | None) -> dict[str, Any]:
        """{"description", "location_text", "point" (lat, long near the place), "terms" (tsvector bytes)}."""
        r = rng.random
        source = i - 1 - int(r() * 300) if i > 0 and r() < CLUSTER else i
        place, building, position, obj, problem = self._topic(max(source, 0))
        objects = OBJECTS.get(top) or OBJECTS[_FALLBACK]
        thing, problems = objects[obj % len(objects)]
        trouble = problems[problem % len(problems)]
        parts = [PLACES[place], building, POSITIONS[position], thing, trouble]
        tail = [DETAILS[bisect(self.details, r() * self.details[-1])]]
        if r() < 0.45:
            tail.append(DETAILS[bisect(self.details, r() * self.details[-1])])
        if r() < 0.8:
            tail.append(ASKS[bisect(self.asks, r() * self.asks[-1])])
        location = f"{PLACES[place]}{building}" if r() < 0.7 else None
        found = [*words_of(title)]
        for part in (*parts, *tail):
            found.extend(words_of(part))
        lat, long = self.centres[place]
        text = "，".join((f"{PLACES[place]}{building}{POSITIONS[position]}", f"{thing}{trouble}", *tail))
        return {
            "description": text + "。",
            "location_text": location,
            "point": (lat + (r() - 0.5) * 0.003, long + (r() - 0.5) * 0.003),
            "terms": encode_tsvector(found),
        }
