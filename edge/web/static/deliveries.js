// Drop-off mode on the guard screen: record a parcel left at the gate for a household (company tapped, count,
// optional courier phone and note), the list of what is waiting (quarantined households first, in red: staff carry
// it up) and the one-tap pickup. Uses the guard screen's helpers (window.gpGuard, from guard.js).
"use strict";
(function () {
  const TEXTS = {
    "zh-CN": {
      dl_button: "快递", dl_title: "快递代收", dl_tab_form: "登记", dl_tab_list: "待取件",
      dl_household: "收件住户（楼-单元-室）", dl_count: "件数", dl_phone: "快递员电话（可不填）", dl_note: "备注（如生鲜、药品）",
      dl_other: "写明快递公司名称", dl_confirm: "登记", dl_pick_company: "请选择快递公司",
      dl_need_household: "请填写收件住户（如 3-2-401）", dl_bad_count: "件数应为1到99之间的整数",
      dl_bad_phone: "快递员电话应为5到15位数字", dl_other_needed: "选“其他”时请写明公司名称",
      dl_done: "已登记：{h} {c} {n}件", dl_done_q: "已登记：{h} 正在居家隔离，需工作人员送上门",
      dl_none: "目前没有待取的快递", dl_waiting: "{c} × {n} · 已等 {w}", dl_min: "{m} 分钟", dl_hours: "{h} 小时 {m} 分", dl_days: "{d} 天", dl_carry: "需工作人员送上门",
      dl_picker: "取件人姓名", dl_picked: "已取件", dl_staff: "已送上门", dl_pick_done: "{h} 的快递已取件",
      dl_not_here: "本闸口允许快递员进入，无需代收登记",
      companies: ["顺丰", "京东", "中通", "圆通", "韵达", "申通", "邮政", "美团", "饿了么", "盒马", "叮咚", "社区团购", "其他"],
    },
    "en": {
      dl_button: "Parcels", dl_title: "Parcels left at the gate", dl_tab_form: "Record", dl_tab_list: "Waiting",
      dl_household: "Household (3-2-401)", dl_count: "Count", dl_phone: "Courier phone",
      dl_note: "Note (food, medicine)", dl_other: "Write the company's name", dl_confirm: "Record",
      dl_pick_company: "Pick the company", dl_need_household: "Write the household (e.g. 3-2-401)",
      dl_bad_count: "The count is a whole number from 1 to 99", dl_bad_phone: "The courier's phone is 5 to 15 digits",
      dl_other_needed: "With 'Other', write the company's name",
      dl_done: "Recorded: {h} {c} ×{n}", dl_done_q: "Recorded: {h} is under home quarantine: staff carry it up",
      dl_none: "Nothing is waiting", dl_waiting: "{c} × {n} · waiting {w}", dl_min: "{m} min", dl_hours: "{h} h {m} min",
      dl_days: "{d} days", dl_carry: "Staff carry it up",
      dl_picker: "Name", dl_picked: "Taken", dl_staff: "Delivered", dl_pick_done: "{h}: picked up",
      dl_not_here: "Couriers may enter at this gate: no drop-off here",
      companies: ["SF", "JD", "ZTO", "YTO", "Yunda", "STO", "EMS", "Meituan", "Ele.me", "Hema", "Dingdong",
        "Group buy", "Other"],
    },
  };
  for (const lang in TEXTS) Object.assign(window.GP_TEXTS[lang] = window.GP_TEXTS[lang] || {}, TEXTS[lang]);
  const ZH_COMPANIES = TEXTS["zh-CN"].companies;
  const OTHER = ZH_COMPANIES.length - 1;
  const $ = (id) => document.getElementById(id);
  const st = {company: null, view: "form", waiting: []};

  const COUNT_POLL_MS = 60000;  // the side button's count, while a guard is signed in

  function g() { return window.gpGuard; }
  function T(key, vars) { return g().T(key, vars); }

  function clearErrors() {
    document.querySelectorAll("#dlg-delivery .err").forEach((e) => { e.textContent = ""; });
    document.querySelectorAll("#dlg-delivery input").forEach((i) => i.classList.remove("bad"));
    $("delivery-msg").textContent = "";
  }
  // A reason shown on its field (the server's "bad_<field>" code, or the page's own check).
  function fieldError(field, text) {
    const box = document.querySelector(`#dlg-delivery .err[data-err='${field}']`);
    const input = {household: "in-d-household", count: "in-d-count", courier_phone: "in-d-phone", note: "in-d-note",
      company: st.company === OTHER ? "in-d-other" : null}[field];
    if (input) $(input).classList.add("bad");
    if (box) box.textContent = text; else $("delivery-msg").textContent = text;
  }

  function renderCompanies() {
    const box = $("delivery-companies");
    box.textContent = "";
    T("companies").forEach((label, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice" + (st.company === i ? " picked" : "");
      b.dataset.company = String(i);
      b.textContent = label;
      b.addEventListener("click", () => pickCompany(i));
      box.appendChild(b);
    });
  }
  function pickCompany(i) {
    st.company = i;
    document.querySelectorAll("#delivery-companies .choice").forEach((b) => {
      b.classList.toggle("picked", b.dataset.company === String(i));
    });
    $("in-d-other").hidden = i !== OTHER;
    if (i === OTHER) { $("in-d-other").placeholder = T("dl_other"); $("in-d-other").focus(); }
  }

  function showView(view) {
    st.view = view;
    $("delivery-form").hidden = view !== "form";
    $("delivery-list-view").hidden = view !== "list";
    $("delivery-ok").hidden = view !== "form";
    document.querySelectorAll("#delivery-tabs .choice").forEach((b) => b.classList.toggle("picked", b.dataset.view === view));
  }

  function renderCount(list) {
    const n = list.length ? String(list.length) : "";
    $("delivery-count").textContent = n;
    $("delivery-tab-count").textContent = n ? "(" + n + ")" : "";
    $("btn-delivery").classList.toggle("carry", list.some((d) => d.quarantined));
  }

  function renderList(list) {
    st.waiting = list;
    renderCount(list);
    const ul = $("delivery-list");
    ul.textContent = "";
    if (!list.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = T("dl_none");
      ul.appendChild(li);
      return;
    }
    list.forEach((d) => ul.appendChild(row(d)));
  }
  function waited(m) {
    if (m < 60) return T("dl_min", {m: m});
    if (m < 1440) return T("dl_hours", {h: Math.floor(m / 60), m: m % 60});
    return T("dl_days", {d: Math.floor(m / 1440)});
  }
  function row(d) {
    const li = document.createElement("li");
    li.dataset.uuid = d.uuid;
    li.classList.toggle("quarantined", !!d.quarantined);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = d.household;
    const more = document.createElement("small");
    more.textContent = T("dl_waiting", {c: d.company, n: d.count, w: waited(d.minutes_waiting)}) + (d.note ? " · " + d.note : "");
    who.appendChild(more);
    const msg = document.createElement("small");
    msg.className = "row-msg";
    if (d.quarantined) { msg.textContent = T("dl_carry"); msg.classList.add("carry"); }
    who.appendChild(msg);
    li.appendChild(who);
    if (!d.quarantined) {
      const name = document.createElement("input");
      name.className = "picker";
      name.dataset.kb = "zh";
      name.maxLength = 20;
      name.placeholder = T("dl_picker");
      name.autocomplete = "off";
      li.appendChild(name);
      li.appendChild(button("dl_picked", "ok", () => pickup(d, name.value.trim() ? "name" : "pass", name.value.trim(), li)));
    }
    li.appendChild(button("dl_staff", d.quarantined ? "danger" : "", () => pickup(d, "staff", "", li)));
    return li;
  }
  function button(key, cls, then) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "action " + cls;
    b.textContent = T(key);
    b.dataset.act = key;
    b.addEventListener("click", then);
    return b;
  }

  async function loadList() {
    try {
      const r = await g().post("/api/deliveries/waiting", {});
      renderList(r.waiting);
      if (!r.drop_off) $("delivery-msg").textContent = T("dl_not_here");
    } catch (e) { $("delivery-msg").textContent = e.message; }
  }
  async function pickup(d, kind, name, li) {
    li.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const r = await g().post("/api/deliveries/pickup", {delivery_uuid: d.uuid, kind: kind, name: name});
      renderList(r.waiting);
      g().toast(T("dl_pick_done", {h: d.household}), false);
    } catch (e) {
      li.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      li.querySelector(".row-msg").textContent = e.message;
      li.querySelector(".row-msg").classList.add("carry");
    }
  }

  function openDelivery() {
    st.company = null;
    ["in-d-household", "in-d-phone", "in-d-note", "in-d-other"].forEach((id) => { $(id).value = ""; });
    $("in-d-count").value = "1";
    $("in-d-other").hidden = true;
    renderCompanies();
    clearErrors();
    showView("form");
    g().openDialog("dlg-delivery");
    loadList();
  }

  // The page's own checks (the server checks the same and names the field when it refuses).
  function checked() {
    const household = $("in-d-household").value.trim();
    const count = $("in-d-count").value.trim();
    const phone = $("in-d-phone").value.replace(/[\s\-()]/g, "");
    let ok = true;
    if (!household) { fieldError("household", T("dl_need_household")); ok = false; }
    if (!/^[0-9]{1,2}$/.test(count) || +count < 1) { fieldError("count", T("dl_bad_count")); ok = false; }
    if (phone && !/^\+?[0-9]{5,15}$/.test(phone)) { fieldError("courier_phone", T("dl_bad_phone")); ok = false; }
    if (st.company === null) { fieldError("company", T("dl_pick_company")); ok = false; }
    const other = $("in-d-other").value.trim();
    if (st.company === OTHER && !other) { fieldError("company", T("dl_other_needed")); ok = false; }
    if (!ok) return null;
    const company = st.company === OTHER ? "其他：" + other : ZH_COMPANIES[st.company];
    return {household: household, company: company, count: count, courier_phone: phone,
      note: $("in-d-note").value.trim()};
  }

  async function doDelivery() {
    clearErrors();
    const body = checked();
    if (!body) return;
    $("delivery-ok").disabled = true;
    try {
      const r = await g().post("/api/deliveries", body);
      renderList(r.waiting);
      g().closeDialogs();
      const q = r.delivery.quarantined;
      g().toast(q ? T("dl_done_q", {h: body.household}) : T("dl_done", {h: body.household, c: body.company, n: body.count}), q);
    } catch (e) {
      if (e.code && e.code.startsWith("bad_")) fieldError(e.code.slice(4), e.message);
      else $("delivery-msg").textContent = e.message;
    } finally {
      $("delivery-ok").disabled = false;
    }
  }

  // The count on the side button (nothing shown before a guard signs in: the list needs a shift).
  async function refreshCount() {
    try { renderCount((await g().post("/api/deliveries/waiting", {})).waiting); } catch (e) { /* no shift yet */ }
  }

  function wire() {
    if (!$("dlg-delivery") || !window.gpGuard) return;
    $("btn-delivery").addEventListener("click", () => g().needShift(openDelivery));
    $("delivery-ok").addEventListener("click", doDelivery);
    document.querySelectorAll("#delivery-tabs .choice").forEach((b) => b.addEventListener("click", () => {
      showView(b.dataset.view);
      if (b.dataset.view === "list") loadList();
    }));
    setTimeout(refreshCount, 1500);
    setInterval(refreshCount, COUNT_POLL_MS);
    $("btn-lang").addEventListener("click", () => {
      if ($("dlg-delivery").hidden) return;
      renderCompanies();
      renderList(st.waiting);
    });
  }
  document.addEventListener("DOMContentLoaded", wire);
})();
