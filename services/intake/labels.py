"""Chinese labels of the English codes that travel in the API; pages and public views show these."""

from __future__ import annotations

from services.workflow.errors import STATUS_LABELS

__all__ = [
    "DEPUTY_LEVEL_LABELS",
    "EVENT_LABELS",
    "RATING_LABELS",
    "REPLY_CLASS_LABELS",
    "REQUEST_TYPE_LABELS",
    "ROLE_LABELS",
    "STATION_KIND_LABELS",
    "STATUS_LABELS",
    "URGENCY_LABELS",
    "event_label",
]

REQUEST_TYPE_LABELS = {
    "enquiry": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
}

URGENCY_LABELS = {"normal": "一般", "urgent": "紧急", "critical": "特急"}

RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}

REPLY_CLASS_LABELS = {
    "A": "A类：已解决或基本解决",
    "B": "B类：正在解决或列入计划解决",
    "C": "C类：因条件限制暂时难以解决",
    "D": "D类：留作参考",
}

ROLE_LABELS = {"lead": "主办", "co": "协办", "separate": "分办"}

STATION_KIND_LABELS = {"home": "代表之家", "station": "代表联络站", "point": "代表联络点"}

DEPUTY_LEVEL_LABELS = {
    "national": "全国人大代表",
    "provincial": "省人大代表",
    "city": "市人大代表",
    "county": "区（县）人大代表",
    "township": "乡镇（街道）人大代表",
}

# What the citizen's timeline calls each event type.
EVENT_LABELS = {
    "received": "已受理",
    "dispatched": "已交办承办单位",
    "redispatched": "已重新交办",
    "accepted": "承办单位已签收",
    "progress": "办理进展",
    "assignment_replied": "承办单位答复",
    "replied": "已答复",
    "feedback": "已评价",
    "rework": "重新办理",
    "closed": "已办结",
    "merged": "已并案处理",
    "unmerged": "已撤销并案",
    "rejected": "不予受理",
    "returned": "请补充反映内容",
    "supplemented": "已补充说明",
    "extension_decided": "办理期限调整",
    "supervision_changed": "人大督办",
    "follow_up": "回头看",
    "follow_up_recorded": "回头看",
    "adopted": "人大代表转为代表建议",
}


def event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, "办理动态")
