"""The demo's casework at central: a household roster imported as staff would, a home quarantine with its readings
and needs, and a screening list with a phone round — so ``gatepass demo`` shows the household files, the care pages
and the screening register filled in.

Seeded once (:func:`seed` does nothing when household files exist), through the same functions the console uses.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from central import care, roster_import, screening
from central.passes.quarantine import DEFAULT_TZ
from central.store import CentralDB
from central.tabular import guess_mapping

log = logging.getLogger(__name__)

BY = "演示"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
          "秀兰", "霞", "平")
_GRIDS = (("第一网格", "赵敏"), ("第二网格", "钱磊"), ("第三网格", "孙丽"))
#: The roster's header, in the order a street office's sheet might have it (not the template's).
HEADER = ("姓名", "联系电话", "楼号", "单元", "房号", "与户主关系", "身份", "房东", "网格", "网格员", "特殊人群",
          "备注")


def roster_rows() -> list[list[str]]:
    """The demo roster: 3 buildings x 2 units x 4 rooms, one to three people each, the demo pass households
    (1-1-101 … 2-3-401) among them."""
    rows: list[list[str]] = []
    n = 0
    for building in (1, 2, 3):
        grid, worker = _GRIDS[building - 1]
        for unit in (1, 2, 3) if building == 2 else (1, 2):
            for room in (101, 102, 103, 401) if building < 3 else (201, 202):
                size = 1 + (building + unit + room) % 3
                for k in range(size):
                    n += 1
                    family = _SURNAMES[(building * 7 + unit * 3 + room) % len(_SURNAMES)]
                    surname = _SURNAMES[(n * 7) % len(_SURNAMES)] if k == 1 else family  # the spouse's own
                    name = surname + _GIVEN[(n * 3) % len(_GIVEN)]
                    tenant = room == 102 and k == 0 and building == 1
                    flags = "独居老人" if size == 1 and room == 101 else ("孕妇" if n % 11 == 0 else "")
                    rows.append([name, f"139{n:08d}", f"{building}号楼", f"{unit}单元", f"{room}室",
                                 "户主" if k == 0 else ("配偶" if k == 1 else "子女"), "租户" if tenant else "业主",
                                 "王建国" if tenant else "", grid, worker, flags, ""])
    return rows


def seed(db: CentralDB, now: float | None = None, tz: str = DEFAULT_TZ) -> bool:
    """Seed the demo casework once; True when it did."""
    if db.execute("SELECT 1 FROM household_files LIMIT 1").fetchone():
        return False
    now = time.time() if now is None else now
    rows = [(i + 2, r) for i, r in enumerate(roster_rows())]
    plan, _ = roster_import.import_rows(db, rows, guess_mapping(HEADER, roster_import.FIELDS), by=BY,
                                        filename="演示花名册.xlsx")
    log.info("demo roster: %d rows, %d bad", len(plan.rows), len(plan.bad))
    _seed_care(db, now, tz)
    _seed_screening(db, now, tz)
    return True


def _seed_care(db: CentralDB, now: float, tz: str) -> None:
    """A returnee from 上海 quarantined two days ago (readings, one missed, a need open and one done)."""
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    first = today - timedelta(days=2)
    qid = care.start_quarantine(db, household="3-1-201", person=0, first_day=first, last_day=first + timedelta(13),
                                source="returnee", origin_city="上海", note="自上海返回，居家隔离", by=BY)
    placed = now - 2 * 86400  # placed two days ago, as if the demo had run since: its past slots count
    db.execute("UPDATE quarantines SET set_at = ? WHERE id = ?", [placed, qid])
    db.execute("UPDATE care_quarantines SET created_at = ? WHERE quarantine_id = ?", [placed, qid])
    temps = {(first, "am"): 36.5, (first, "pm"): 36.7, (first + timedelta(1), "am"): 36.4}
    for (day, slot), temp in temps.items():  # the afternoon of yesterday is missed: an alert
        care.record_reading(db, qid, 0, day, slot, temp, via="staff" if slot == "am" else "self", by=BY, now=now,
                            tz=tz)
    done = care.add_need(db, qid, "groceries", "蔬菜、鸡蛋", by=BY, now=now - 86400, handled_by="志愿者 刘洋")
    care.finish_need(db, done, handled_by="志愿者 刘洋", by=BY, now=now - 80000)
    care.add_need(db, qid, "medicine", "降压药（硝苯地平）", by=BY, now=now - 3600)



#: The street office's list of returnees (name, phone, household as written, origin, return day back, train).
RETURNEES = (("杨强", "13900000042", "3号楼1单元201", "上海", 2, "G102"),
             ("周敏", "13700001111", "2-1-101", "吉林", 1, "D28"),
             ("何磊", "13700002222", "1号楼2单元103室", "西安", 3, "MU2105"),
             ("罗静", "13700003333", "", "深圳", 0, "自驾"),
             ("高洋", "13700004444", "2-2-102", "上海", 1, "G7"))


def _seed_screening(db: CentralDB, now: float, tz: str) -> None:
    """A returnee list from the street office: two already phoned (one reached, one no answer)."""
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    rows = [screening.ScreenRow(phone=phone, name=name, household=home, origin_city=city,
                                return_date=(today - timedelta(days=back)).isoformat(), travel=travel,
                                health="健康", category="returnee", row_no=i + 2)
            for i, (name, phone, home, city, back, travel) in enumerate(RETURNEES)]
    screening.import_rows(db, "returnee_list", "街道下发返乡人员名单", rows, by=BY, now=now - 7200)
    ids = dict(db.execute("SELECT phone, id FROM screening_people").fetchall())
    screening.record_call(db, ids["13900000042"], "reached", "已居家隔离", by=BY, now=now - 5000)
    screening.record_call(db, ids["13700001111"], "no_answer", "", by=BY, now=now - 4000)
