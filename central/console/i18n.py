"""Console texts, zh-CN first with English available, and reason-code texts."""

from __future__ import annotations

from sync.reasons import message

LANGS = ("zh", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "app": ("门岗通行管理平台", "gatepass console"),
    "nav.home": ("首页", "Home"), "nav.entries": ("出入记录", "Entries"), "nav.trace": ("密接追踪", "Tracing"),
    "nav.report": ("日报", "Daily report"), "nav.alerts": ("告警", "Alerts"), "nav.devices": ("门岗设备", "Devices"),
    "nav.households": ("住户与通行证", "Households & passes"), "nav.users": ("工作人员", "Staff"),
    "nav.audit": ("审计日志", "Audit log"), "logout": ("退出", "Sign out"), "login": ("登录", "Sign in"),
    "username": ("用户名", "User name"), "password": ("密码", "Password"),
    "login.bad": ("用户名或密码错误", "Wrong user name or password"),
    "login.wait": ("登录尝试过多，请稍候 {n} 秒再试", "Too many sign-in attempts: please wait {n} s and try again"),
    "signin.waiting": ("登录失败 {f} 次，需等待 {n} 秒", "{f} failed sign-ins, waits {n} s"),
    "signin.failures": ("登录失败 {f} 次", "{f} failed sign-ins"), "unlock": ("解除等待", "Unlock"),
    "login.expired": ("登录已过期，请重新登录", "Your session expired; please sign in again"),
    "role.admin": ("管理员", "Administrator"), "role.staff": ("工作人员", "Staff"), "role.viewer": ("只读", "Viewer"),
    "self_change": ("不能更改自己的角色或停用自己", "You cannot change your own role or disable yourself"),
    "forbidden": ("您没有权限执行此操作", "You are not allowed to do this"),
    "csrf": ("表单已失效，请刷新页面后重试", "The form expired; reload the page and try again"),
    "not_found": ("没有这个页面或记录", "No such page or record"),
    "not_allowed": ("不能这样打开这个页面", "This page cannot be used this way"),
    "too_large": ("文件太大", "The file is too large"),
    "bad_form": ("表单填写不完整或格式不对，请返回检查",
                 "Some form fields are missing or malformed; go back and check"),
    "since": ("开始时间", "From"), "until": ("结束时间", "To"), "community": ("社区", "Community"),
    "gate": ("门岗", "Gate"), "direction": ("方向", "Direction"), "decision": ("结果", "Decision"),
    "reason": ("原因", "Reason"), "fever": ("发热", "Fever"), "pass_id": ("通行证号", "Pass no."),
    "household": ("户号", "Household"), "visitor_ref": ("访客编号", "Visitor ref."), "guard": ("保安", "Guard"),
    "time": ("时间", "Time"), "event": ("事件", "Event"), "temp": ("体温", "Temp."), "person": ("人员", "Person"),
    "kind": ("类型", "Kind"), "any": ("全部", "Any"), "yes": ("是", "Yes"), "no": ("否", "No"),
    "in": ("进", "In"), "out": ("出", "Out"), "pass": ("通行", "Passed"), "refuse": ("拒绝", "Refused"),
    "guard_dec": ("保安处理", "Guard"), "search": ("查询", "Search"), "reset": ("重置", "Reset"),
    "next": ("下一页", "Next page"), "first": ("第一页", "First page"), "none": ("没有记录", "No entries"),
    "export_csv": ("导出 CSV", "Export CSV"), "export_xlsx": ("导出 Excel", "Export XLSX"),
    "trace.subject": ("追踪对象", "Trace by"), "trace.value": ("号码", "Number"),
    "trace.minutes": ("前后分钟数", "± minutes"), "trace.run": ("开始追踪", "Run trace"),
    "trace.passages": ("通行记录", "Passages"), "trace.contacts": ("同门岗前后通行人员", "Others at the same gate"),
    "trace.delta": ("相差(分钟)", "Δ min"), "trace.truncated": ("结果过多，已截断", "Too many results; truncated"),
    "report.day": ("日期", "Day"), "report.today": ("今日报表", "Today"), "report.show": ("生成报表", "Show report"),
    "report.chart": ("各门岗每小时进入人数", "Entries per hour per gate"),
    "entries": ("进入", "Entries"), "exits": ("外出", "Exits"), "visitors": ("访客", "Visitors"),
    "refusals": ("拒绝", "Refusals"), "fevers": ("发热", "Fevers"), "overrides": ("保安放行", "Overrides"),
    "hour": ("小时", "Hour"), "total": ("合计", "Total"), "by_reason": ("按原因统计拒绝", "Refusals by reason"),
    "columns": ("导出列说明", "Export columns"),
    "alerts.fever": ("发热", "Fever"), "alerts.quarantine": ("隔离户外出", "Quarantine exit attempt"),
    "alerts.double_entry": ("重复进入（疑似借用）", "Entered twice (pass shared?)"),
    "alerts.two_gates": ("短时间出现在两个门岗", "Two gates minutes apart"),
    "alerts.let_through": ("保安已放行", "Let through by the guard"),
    "alerts.suspected_fever": ("疑似发热（未复测）", "Suspected fever (no re-measure)"),
    "alerts.host_quarantined": ("访客：被访户在隔离", "Visitor to a quarantined home"),
    "alerts.health_code": ("健康码异常", "Health code yellow/red"),
    "alerts.thermometer_down": ("体温计停用", "Thermometer down"),
    "lt.done": ("此人已被放行", "This person was let through"), "lt.by": ("保安", "guard"),
    "lt.why": ("原因", "reason"), "lt.refused": ("原拒绝", "refused for"),
    "lt.overridden": ("注意：此人随后已被保安放行", "Note: the guard then let this person through"),
    "lt.see": ("查看放行记录", "see the let-through"), "lt.see_refusal": ("查看拒绝记录", "see the refusal"),
    "lt.no_refusal": ("原拒绝记录尚未收到", "the refusal has not reached central yet"),
    "ovr.emergency": ("紧急情况", "emergency"), "ovr.medical": ("就医", "medical"),
    "ovr.staff": ("工作人员", "staff"), "ovr.other": ("其他", "other"), "ovr.none": ("未说明", "not given"),
    "sf.detail": ("首次测温偏高，复测时限内未见正常复测", "High reading, no normal re-measure within the window"),
    "host.detail": ("被访住户正在居家隔离，访客未放行", "The host household is under home quarantine: visitor refused"),
    "therm.for": ("体温计故障已持续", "Thermometer down for"), "therm.still": ("仍未恢复", "still down"),
    "therm.back": ("已恢复", "working again at"),
    "ack": ("确认", "Acknowledge"), "acked": ("已确认", "Acknowledged"), "note": ("备注", "Note"),
    "alerts.live": ("每10秒自动刷新", "Refreshes every 10 s"), "alerts.none": ("暂无告警", "No alerts"),
    "alerts.open": ("未处理告警", "Open alerts"), "detail": ("详情", "Detail"),
    "device": ("设备", "Device"), "last_seen": ("最后在线", "Last seen"), "backlog": ("待上传", "Backlog"),
    "list_version": ("名单版本", "List version"), "list_age": ("名单时效", "List age"),
    "lists_too_old": ("名单过旧", "lists too old"), "unit.h": ("小时", "h"), "unit.d": ("天", "d"),
    "skew": ("时钟偏差(秒)", "Clock skew (s)"),
    "software": ("软件版本", "Software"), "gaps": ("记录缺失", "Seq gaps"), "revoked": ("已停用", "Revoked"),
    "pass_revoked": ("已注销", "Revoked"),
    "active": ("正常", "Active"), "add_device": ("添加设备", "Add device"), "revoke": ("停用", "Revoke"),
    "device_token": ("设备凭证（只显示一次，请立即复制到设备配置）",
                     "Device credential (shown once: copy it into the device's sync.toml now)"),
    "name": ("名称", "Name"), "stale": ("过期", "stale"), "ok": ("正常", "OK"),
    "import": ("导入住户名册", "Import register"), "import_file": ("CSV/XLSX 文件", "CSV/XLSX file"),
    "issue": ("签发通行证", "Issue pass"), "days": ("有效天数", "Days"), "valid_to": ("有效期至", "Valid to"),
    "cards": ("打印通行证卡片", "Print pass cards"), "quarantine": ("居家隔离", "Home quarantine"),
    "q.start": ("开始日期", "Start"), "q.end": ("结束日期", "End"), "q.set": ("设为居家隔离", "Start quarantine"),
    "q.first": ("隔离第一天", "First day"), "q.last": ("隔离最后一天（含）", "Last day (included)"),
    "q.days": ("天数（未填最后一天时）", "Days (if no last day)"), "q.who": ("隔离对象", "Who"),
    "q.person_hint": ("填人员号，整户留空", "person no., empty: whole household"),
    "q.whole": ("整户", "Whole household"), "q.set_by": ("登记人", "Set by"), "q.released": ("已解除", "Released"),
    "q.over": ("已期满", "Over"), "q.active": ("隔离中", "Active"), "q.release_note": ("解除说明", "Why released"),
    "q.hint": ("默认14天：第一天算第1天，最后一天当天仍须隔离，次日0点起可外出。",
               "14 days by default: the first day is day 1; the last day is still in quarantine, "
               "going out is allowed from the following midnight."),
    "q.release": ("解除隔离", "Release"), "status": ("状态", "Status"), "households": ("住户", "Households"),
    "passes": ("通行证", "Passes"), "open": ("查看", "Open"), "saved": ("已保存", "Saved"),
    "list_synced": ("变更已加入名单，门岗同步后生效", "Change queued; gates apply it at their next sync"),
    "user_add": ("添加工作人员", "Add staff member"), "role": ("角色", "Role"), "disabled": ("停用", "Disabled"),
    "action": ("操作", "Action"), "who": ("人员", "Who"), "error": ("出错", "Error"),
    "home.today": ("今日概况", "Today so far"), "back": ("返回", "Back"), "save": ("保存", "Save"),
    "ev.scan": ("扫码", "scan"), "ev.visitor": ("访客登记", "visitor"), "ev.override": ("保安放行", "override"),
    "ev.manual": ("人工登记", "manual"), "ev.shift_end": ("交接班", "shift hand-over"), "info": ("记录", "Record"),
    "kind.resident": ("居民", "resident"), "kind.temporary": ("临时", "temporary"), "kind.visitor": ("访客", "visitor"),
    "kind.staff": ("工作人员", "staff"), "kind.delivery": ("配送", "delivery"),
    "min": ("分钟", "min"), "window": ("时间范围", "Window"), "h24": ("24小时", "24 h"), "d7": ("7天", "7 days"),
    "d30": ("30天", "30 days"),
    "dev.camera": ("摄像头", "Camera"), "dev.thermometer": ("体温计", "Thermometer"), "dev.relay": ("闸门", "Relay"),
    "dev.voice": ("语音", "Voice"), "dev.other": ("其他故障", "Other faults"), "fault": ("故障", "Fault"),
    "fault.since": ("起", "since"), "fault.unknown": ("未上报", "not reported"),
    "faulted": ("设备故障", "Device fault"),
    "nav.shifts": ("交接班", "Shift hand-overs"), "shift": ("班次", "Shift"),
    "shift.entries": ("通行人次", "Entries"), "shift.refusals": ("拒绝（按原因）", "Refusals by reason"),
    "shift.high": ("体温偏高次数", "High readings"), "shift.fevers": ("发热事件", "Fever events"),
    "shift.overrides": ("保安放行", "Overrides"), "shift.visitors": ("访客", "Visitors"),
    "shift.faults": ("班内设备故障", "Device faults"), "shift.none": ("暂无交接班记录", "No hand-overs yet"),
    "shift.until_now": ("至今", "ongoing"),
    "days7": ("最近7天", "Last 7 days"),
    "bad_chars": ("输入中含有控制字符，请删除后重试", "The input holds a control character; remove it and retry"),
    "time.invalid": ("时间异常", "invalid time"), "value.invalid": ("数值异常", "invalid value"),
    # -- issue 16: report templates (central/console/routes_reports.py) --
    "nav.rt": ("报表模板", "Report templates"), "rt.new": ("新建模板", "New template"),
    "rt.name": ("模板名称（上报对象）", "Template name (recipient)"), "rt.title": ("报表标题", "Report title"),
    "rt.unit": ("填报单位", "Reporting unit"), "rt.contact": ("联系人及电话", "Contact"),
    "rt.grouping": ("分行方式", "Rows"), "rt.figures": ("指标（勾选、排序、改列名）", "Figures (tick, order, rename)"),
    "rt.use": ("选用", "Use"), "rt.order": ("顺序", "Order"), "rt.label": ("列名", "Column name"),
    "rt.figure": ("指标", "Figure"), "rt.meaning": ("含义与统计口径", "Meaning and how it is counted"),
    "rt.edit": ("修改", "Edit"), "rt.copy": ("复制", "Duplicate"), "rt.generate": ("生成报表", "Generate"),
    "rt.for_day": ("报表日期", "Day"), "rt.history": ("已生成的报表", "Generated reports"),
    "rt.none": ("还没有报表模板", "No report templates yet"),
    "rt.runs_none": ("还没有生成过报表", "Nothing generated yet"),
    "rt.generated_at": ("生成时间", "Generated at"), "rt.by": ("生成人", "By"), "rt.columns": ("列", "Columns"),
    "rt.again": ("重新生成", "Generate again"), "rt.updated": ("最后修改", "Last changed"),
    "rt.whole_only": ("仅合计", "total only"), "rt.layout": ("排列方式", "Layout"),
    # -- people on duty and the duty board (issue 17) --
    "nav.people": ("值班人员", "People on duty"), "nav.duty": ("在岗看板", "On-duty board"),
    "ppl.guard_id": ("工号", "Guard id"), "ppl.name": ("姓名", "Name"), "ppl.phone": ("电话", "Phone"),
    "ppl.group": ("分组", "Group"), "ppl.unit": ("派出单位", "Seconded from"), "ppl.status": ("状态", "Status"),
    "ppl.active": ("在岗", "Active"), "ppl.called_back": ("已召回", "Called back"),
    "ppl.enabled": ("可登录门岗", "May sign in"), "ppl.disabled": ("已停用", "Disabled"),
    "ppl.pin": ("门岗 PIN", "Gate PIN"), "ppl.pin_set": ("已设置", "set"), "ppl.pin_none": ("未设置", "not set"),
    "ppl.pin_new": ("新 PIN（6-12 位数字）", "New PIN (6-12 digits)"), "ppl.pin_again": ("再输一次", "Again"),
    "ppl.pin_mismatch": ("两次输入的 PIN 不一致", "The two PINs differ"),
    "ppl.pin_save": ("设置/重置 PIN", "Set / reset PIN"),
    "ppl.pin_note": ("PIN 只以加密摘要保存并随名单下发到各门岗；门岗同步后生效，旧 PIN 随即失效。"
                     "未设置 PIN、已停用或已召回的人员不能在任何门岗登录（门岗本地设置的 PIN 对其无效）。",
                     "The PIN is kept only as a hash and reaches every gate with the lists: it works after the "
                     "gate's next sync, and the old PIN stops working then. People without a PIN here, disabled "
                     "or called back cannot sign in at any gate (a PIN set on the gate does not count for them)."),
    "ppl.add": ("添加人员", "Add a person"), "ppl.edit": ("修改", "Edit"), "ppl.save": ("保存", "Save"),
    "ppl.disable": ("停用（各门岗同步后不能登录）", "Disable (refused at every gate after its sync)"),
    "ppl.enable": ("重新启用", "Enable again"), "ppl.none": ("还没有值班人员", "No people yet"),
    "ppl.phone_hidden": ("只读账号不显示电话", "Phones are hidden from viewers"),
    "ppl.back": ("返回人员列表", "Back to the list"), "ppl.pin_done": ("PIN 已设置，门岗同步后生效",
                                                                     "PIN set: it works after the gate's next sync"),
    "grp.watch": ("值守组", "Gate watch"), "grp.patrol": ("巡逻组", "Patrol"),
    "grp.support": ("应急保障组", "Emergency support"), "grp.repair": ("维修组", "Repairs"),
    "grp.mobile": ("机动组", "Mobile reserve"),
    "duty.post": ("岗位", "Post"), "duty.rostered": ("排班", "Rostered"), "duty.on": ("实际在岗", "Signed in"),
    "duty.since": ("上岗时间", "Since"), "duty.empty": ("无人在岗", "Nobody on duty"),
    "duty.absent": ("未到岗", "Not signed in"), "duty.unrostered": ("未排班人员在岗", "Signed in, not rostered"),
    "duty.slot": ("班次", "Slot"), "duty.add_post": ("添加岗位", "Add a post"),
    "duty.add_slot": ("添加排班", "Add a roster slot"), "duty.day": ("日期", "Day"),
    "duty.start": ("开始", "Starts"), "duty.end": ("结束", "Ends"), "duty.person": ("值班人员", "Person"),
    "duty.gate_post": ("门岗", "Gate"), "duty.kind": ("类型", "Kind"), "duty.none": ("还没有岗位", "No posts yet"),
    "duty.ok": ("到岗", "In place"), "ev.shift_start": ("上岗签到", "shift sign-in"),
    "duty.remove": ("删除", "Remove"), "duty.days": ("连续天数", "Days in a row"),
    "duty.copy_week": ("复制上周排班到本周", "Copy last week's roster to this week"),
    "duty.kind.patrol": ("巡逻岗", "patrol"), "duty.kind.point": ("收货点", "delivery point"),
    "duty.kind.building": ("隔离楼栋", "quarantine building"),
    # -- issue 17: roster print, stand-ins --
    "duty.roster_title": ("值班排班表", "Duty roster"), "duty.week": ("周次", "Week"), "duty.to": ("至", "to"),
    "duty.printed": ("打印日期", "Printed"), "duty.in_charge": ("负责人签字", "Person in charge (signature)"),
    "duty.sign_date": ("日期", "Date"), "duty.print": ("打印排班表", "Print the roster"),
    "duty.xlsx": ("导出排班表 Excel", "Export the roster (Excel)"),
    "duty.wd.0": ("星期一", "Monday"), "duty.wd.1": ("星期二", "Tuesday"), "duty.wd.2": ("星期三", "Wednesday"),
    "duty.wd.3": ("星期四", "Thursday"), "duty.wd.4": ("星期五", "Friday"), "duty.wd.5": ("星期六", "Saturday"),
    "duty.wd.6": ("星期日", "Sunday"),
    "duty.stand_in": ("顶岗、补岗", "Stand-in"), "duty.stand_in_for": ("顶替", "standing in for"),
    "duty.reason": ("原因", "Reason"), "duty.changes": ("顶岗、补岗记录", "Stand-ins"),
    "duty.approved_by": ("批准人", "Approved by"), "duty.original": ("原排班", "Rostered first"),
    "duty.replacement": ("顶岗人员", "Standing in"), "duty.changed_at": ("记录时间", "Recorded"),
    # -- the visitor ledger (issue 14) --
    "nav.visitors": ("访客登记", "Visitors"), "visitor.name": ("姓名", "Name"), "visitor.phone": ("电话", "Phone"),
    "visitor.in": ("来访时间", "Time in"), "visitor.out": ("离开时间", "Time out"),
    "visitor.host": ("被访住户", "Host household"), "visitor.reason": ("来访事由", "Reason"),
    "visitor.day_from": ("开始日期", "From day"), "visitor.day_to": ("结束日期", "To day"),
    "visitor.inside_only": ("只看未离开的", "Still inside only"),
    "visitor.inside": ("尚未离开（无离开记录）", "Still inside (no exit recorded)"),
    "visitor.visits": ("来访记录", "Visits"), "visitor.masked": ("只读账号看不到访客的完整姓名和电话",
                                                                 "Viewers do not see visitors' full names and phones"),
    "visitor.limit": ("只显示最新的 {n} 条，请缩小查询范围", "Only the newest {n} are shown: narrow the search"),
    "visitor.people": ("需联系的访客（每人一行）", "Visitors to call (one row per person)"),
    "visitor.passages": ("通行记录", "Passages"), "visitor_phone": ("访客电话", "Visitor's phone"),
    "visitor.closest": ("最近相隔（分钟）", "Closest (min)"), "visitor.kind.visitor": ("访客", "Visitor"),
    "visitor.kind.pass": ("通行证", "Pass"), "visitor.kind.visitor_ref": ("访客（无电话）", "Visitor (no phone)"),
    "visitor.kind.household": ("住户", "Household"), "visitor.id4": ("身份证后4位", "ID card, last 4"),
    "visitor.bad_day": ("日期格式应为 年-月-日，如 2026-11-20", "A day is written YYYY-MM-DD, e.g. 2026-11-20"),
    "visitor.bad_period": ("结束日期早于开始日期，请重新选择", "The last day is before the first: choose again"),
    "visitor.too_long": ("一次最多查询 {n} 天，请缩短时间范围", "At most {n} days at a time: choose a shorter period"),
    "ev.visitor_exit": ("访客离开", "visitor left"), "visitor.city": ("来自城市", "From (city)"),
    "visitor.outside": ("14天内离开过本市", "Outside the city in 14 days"),
    # -- issue 16: the trend on the daily report (central/console/reports.py) --
    "trend.title": ("疫情期间主要指标走势", "Key figures over the outbreak"),
    "trend.days": ("最近天数", "Days"), "trend.n_days": ("天", "days"),
    "trend.last": ("当日", "That day"), "trend.total": ("合计", "Total"),
    "trend.peak": ("最多", "Peak"),
    "trend.table": ("走势数据（每日）", "The trend's numbers (per day)"),
    "trend.note": ("每张小图为一个指标，横轴为日期（截至所选日期），纵轴为当日数量；鼠标停在圆点上可看当日数值。"
                   "隔离户数按全部住户统计（住户不分社区）。",
                   "One small chart per figure: days along the bottom (up to the chosen day), the day's count "
                   "up the side; hover a dot for its number. Households in quarantine are counted over all "
                   "households (households carry no community)."),
    # issue 17: hand-over notes, empty posts
    "alerts.empty_post": ("岗位无人值守", "Post unmanned"),
    "empty.detail": ("排班中但无人签到", "rostered but nobody signed in"),
    "empty.since": ("自", "since"), "empty.for": ("已持续", "for"),
    "handover.notes": ("交接事项", "Hand-over notes"), "handover.none": ("（无交接事项）", "(no notes)"),
    # -- issue 17: patrol log (central/patrol.py, central/console/routes_patrol.py) --
    "nav.patrol": ("巡查记录", "Patrol log"),
    "patrol.post": ("巡查岗位", "Patrol post"), "patrol.area": ("路线或区域", "Route or area"),
    "patrol.area_hint": ("如：巡查围挡安全", "e.g. check the fences"),
    "patrol.start": ("开始巡查", "Start the round"), "patrol.finish": ("结束巡查", "Finish the round"),
    "patrol.under_way": ("巡查进行中", "Round under way"), "patrol.since": ("开始于", "Started"),
    "patrol.add": ("记录问题（点按常见问题即可）", "Record a defect (tap a common one)"),
    "patrol.place": ("位置", "Place"), "patrol.detail": ("补充说明", "Details"),
    "patrol.fixed": ("已当场处理", "Fixed on the spot"), "patrol.not_fixed": ("未处理", "Not fixed"),
    "patrol.add_other": ("记录", "Record"), "patrol.recent": ("最近的巡查", "Recent rounds"),
    "patrol.walker": ("巡查人", "Walker"), "patrol.time": ("时间", "Time"),
    "patrol.defects": ("发现的问题", "Defects found"), "patrol.no_defects": ("未发现问题", "No defects"),
    "patrol.none": ("还没有巡查记录", "No rounds yet"),
    "patrol.no_posts": ("还没有巡查岗位：请在“值班”页添加类型为“巡查”的岗位",
                        "No patrol post yet: add a post of kind patrol on the duty page"),
    "patrol.open": ("进行中", "under way"), "patrol.read_only": ("只读：查看者不能记录巡查",
                                                              "Read only: viewers cannot record rounds"),
    "patrol.d.围挡松动": ("围挡松动", "Loose fence"), "patrol.d.门锁损坏": ("门锁损坏", "Broken lock"),
    "patrol.d.照明故障": ("照明故障", "Lighting fault"), "patrol.d.积水": ("积水", "Standing water"),
    "patrol.d.其他": ("其他", "Other"),
    # -- issue 14, vehicles: the vehicle ledger (central/console/routes_vehicles.py) and drivers in traces --
    "nav.vehicles": ("车辆登记", "Vehicles"), "vehicle.plate": ("车牌号", "Plate"),
    "vehicle.purpose": ("用途", "Purpose"), "vehicle.in": ("进入时间", "Time in"),
    "vehicle.out": ("离开时间", "Time out"), "vehicle.driver": ("驾驶人", "Driver"),
    "vehicle.driver_kind": ("驾驶人类别", "Driver is"), "vehicle.phone": ("驾驶人电话", "Driver's phone"),
    "vehicle.note": ("备注", "Note"), "vehicle.guard": ("登记保安", "Guard"), "vehicle.pass": ("通行证", "pass"),
    "vehicle.inside": ("尚未离开的车辆（无离开记录）", "Vehicles still inside (no exit recorded)"),
    "vehicle.all": ("车辆进出记录", "Vehicles"),
    "vehicle.masked": ("只读账号看不到驾驶人的完整姓名和电话", "Viewers do not see drivers' full names and phones"),
    "ev.vehicle": ("车辆登记", "vehicle"), "ev.vehicle_exit": ("车辆离开", "vehicle left"),
    "visitor.kind.driver": ("车辆驾驶人", "Driver"),
}


def translator(lang: str):
    """A ``t(key)`` function for templates."""
    idx = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = TEXTS.get(key)
        return pair[idx] if pair else key

    return t


def reason_text(code: str, lang: str = "zh") -> str:
    """Plain words for a reason code (edge decision codes first, then pass verification codes)."""
    try:
        return message(code, lang)
    except Exception:  # noqa: BLE001 - a missing text must never break a page
        return code


def reason_texts(lang: str = "zh") -> dict[str, str]:
    """Every known reason code with its text."""
    codes: set[str] = set()
    for mod in ("sync.reasons", "sync.passes.messages"):
        try:
            codes |= set(__import__(mod, fromlist=["MESSAGES"]).MESSAGES)
        except ImportError:
            continue
    return {c: reason_text(c, lang) for c in sorted(codes)}
