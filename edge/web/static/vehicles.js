// The vehicle lane on the guard page (edge/web/vehicles.py): register a vehicle (plate, purpose, driver), list the
// vehicles still inside with the visitors, one tap records a vehicle's exit. Loaded before guard.js: its words go into
// GP_TEXTS now, the rest waits for guard.js's helpers (the "gp:ready" event).
"use strict";
(function () {
  Object.assign(window.GP_TEXTS["zh-CN"], {
    vh_button: "登记车辆", vh_title: "车辆登记", vh_plate: "车牌号（新能源8位）", vh_driver: "驾驶人",
    vh_d_person: "填写", vh_d_resident: "刚扫码住户", vh_d_visitor: "在场访客",
    vh_name: "驾驶人姓名", vh_phone: "驾驶人电话", vh_note: "备注（选“其他”时必填）", vh_confirm: "登记",
    vh_not_allowed: "本道不允许", vh_need_purpose: "请选择用途",
    vh_resident: "住户 {h}（{t} 扫码通过）", vh_no_resident: "30分钟内没有住户扫码通过：请让驾驶人扫码，或选“填写”",
    vh_no_visitor: "目前没有在场访客", vh_pick_visitor: "请点选一位在场访客",
    vh_in: "车辆已登记：{p}", vh_tag: "车辆",
    vh_inside_for: "{k} · {d} · 已进入 {m} 分钟", vh_left_done: "已登记 {p} 离开", vh_inside_none: "目前没有未离开的车辆",
  });
  Object.assign(window.GP_TEXTS.en, {
    vh_button: "Vehicle", vh_title: "Register a vehicle", vh_plate: "Plate (new-energy: 8)", vh_driver: "Driver",
    vh_d_person: "Type", vh_d_resident: "Scanned", vh_d_visitor: "Visitor",
    vh_name: "Driver's name", vh_phone: "Driver's phone", vh_note: "Note (needed for Other)", vh_confirm: "Register",
    vh_not_allowed: "not at this lane", vh_need_purpose: "Choose the purpose",
    vh_resident: "Home {h} (scanned at {t})", vh_no_resident: "No resident scanned in the last 30 min: scan the "
      + "driver's pass, or choose Type",
    vh_no_visitor: "No visitor is inside", vh_pick_visitor: "Tap a visitor inside",
    vh_in: "Vehicle registered: {p}", vh_tag: "Vehicle",
    vh_inside_for: "{k} · {d} · in for {m} min", vh_left_done: "{p} has left", vh_inside_none: "No vehicle is inside",
  });
  // At a vehicle lane the "now inside" list holds vehicles too (loadLane puts these words in).
  const LANE_TEXTS = {"zh-CN": {inside: "在场人车", inside_title: "在场访客和车辆（点“离开”登记离开）"},
    en: {inside: "Inside", inside_title: "Visitors and vehicles inside (tap \u201cLeft\u201d when they leave)"}};
  const RESIDENT_S = 30 * 60;  // a resident driver's scan is at most this old (edge.vehicle_book.RESIDENT_SCAN_S)
  const RESIDENT_KINDS = ["resident", "tenant", "staff", "temporary"];
  const $ = (id) => document.getElementById(id);
  let GP = null;
  const st = {lane: false, purposes: [], purpose: null, driver: "person", ref: "", visitors: []};

  function words(p) { return GP.lang() === "en" ? p.en : p["zh-CN"]; }
  function clearFields() {
    document.querySelectorAll("#dlg-vehicle .fmsg").forEach((m) => { m.textContent = ""; });
    $("vehicle-msg").textContent = "";
  }
  function showFields(fields) {
    for (const name in fields) {
      const box = document.querySelector(`#dlg-vehicle .fmsg[data-for="${name}"]`) || $("vehicle-msg");
      box.textContent = GP.lang() === "en" ? fields[name].en : fields[name]["zh-CN"];
    }
  }

  async function loadLane() {
    try {
      const r = await GP.post("/api/vehicles/lane", {});
      st.lane = r.lane;
      st.purposes = r.purposes;
    } catch (e) { st.lane = false; }
    $("btn-vehicle").hidden = !st.lane;
    if (st.lane) {
      Object.assign(window.GP_TEXTS["zh-CN"], LANE_TEXTS["zh-CN"]);
      Object.assign(window.GP_TEXTS.en, LANE_TEXTS.en);
      document.querySelectorAll("[data-i18n='inside'], [data-i18n='inside_title']").forEach((el) => {
        el.textContent = GP.T(el.dataset.i18n);
      });
    }
    renderPurposes();
  }
  function renderPurposes() {
    $("vh-purposes").replaceChildren(...st.purposes.map((p) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice" + (p.allowed ? "" : " not-allowed") + (st.purpose === p.key ? " picked" : "");
      b.dataset.purpose = p.key;
      b.textContent = words(p);
      if (!p.allowed) {  // still tappable: the refusal is logged and shown with its reason
        const small = document.createElement("small");
        small.textContent = GP.T("vh_not_allowed");
        b.appendChild(small);
      }
      b.addEventListener("click", () => { st.purpose = p.key; renderPurposes(); clearFields(); });
      return b;
    }));
  }

  function residentOutcome() {
    const o = GP.outcome();
    const fresh = o && o.seq > 0 && o.decision === "pass" && o.event === "scan" && RESIDENT_KINDS.includes(o.pass_kind)
      && Date.now() / 1000 - o.wall_ts <= RESIDENT_S;
    return fresh ? o : null;
  }
  async function pickDriver(kind) {
    st.driver = kind;
    st.ref = "";
    document.querySelectorAll("#vh-driver .choice").forEach((b) => b.classList.toggle("picked", b.dataset.driver === kind));
    $("vh-who-resident").hidden = kind !== "resident";
    $("vh-who-visitor").hidden = kind !== "visitor";
    $("in-vh-name").parentElement.hidden = kind !== "person";
    $("in-vh-phone").parentElement.hidden = kind !== "person";
    clearFields();
    if (kind === "resident") {
      const o = residentOutcome();
      st.ref = o ? o.uuid : "";
      $("vh-resident").textContent = o ? GP.T("vh_resident", {h: o.household || "", t: GP.hhmm(o.wall_ts)})
        : GP.T("vh_no_resident");
    } else if (kind === "visitor") {
      await loadVisitors();
    }
  }
  async function loadVisitors() {
    const box = $("vh-visitors");
    box.replaceChildren();
    try { st.visitors = (await GP.post("/api/visitors/inside", {})).inside; } catch (e) { st.visitors = []; }
    if (!st.visitors.length) { box.textContent = GP.T("vh_no_visitor"); return; }
    box.replaceChildren(...st.visitors.slice(0, 4).map((v) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.dataset.uuid = v.uuid;
      b.textContent = v.name + " " + v.phone.slice(-4);
      b.addEventListener("click", () => {
        st.ref = v.uuid;
        box.querySelectorAll(".choice").forEach((x) => x.classList.toggle("picked", x === b));
      });
      return b;
    }));
  }

  function openVehicle() {
    ["in-vh-plate", "in-vh-name", "in-vh-phone", "in-vh-note"].forEach((id) => { $(id).value = ""; });
    st.purpose = null;
    renderPurposes();
    GP.openDialog("dlg-vehicle");
    pickDriver("person");
  }
  async function doVehicle() {
    clearFields();
    if (!st.purpose) { showFields({purpose: {"zh-CN": GP.T("vh_need_purpose"), en: GP.T("vh_need_purpose")}}); return; }
    if (st.driver === "visitor" && !st.ref) { $("vehicle-msg").textContent = GP.T("vh_pick_visitor"); return; }
    const body = {plate: $("in-vh-plate").value, purpose: st.purpose, note: $("in-vh-note").value, driver: st.driver,
      driver_ref: st.ref, name: st.driver === "person" ? $("in-vh-name").value : "",
      phone: st.driver === "person" ? $("in-vh-phone").value : ""};
    $("vehicle-ok").disabled = true;
    try {
      const r = await GP.post("/api/vehicles/register", body);
      const o = r.outcome;
      GP.closeDialogs();
      if (o.decision === "pass") GP.toast(GP.T("vh_in", {p: r.plate}), false);
      // a refusal shows in the result panel with its reason (the outcome), like every refusal
    } catch (e) {
      if (e.fields) showFields(e.fields); else $("vehicle-msg").textContent = e.message;
    } finally {
      $("vehicle-ok").disabled = false;
    }
  }

  // -- vehicles now inside, under the visitors ----------------------------------------------------
  function renderInside(list) {
    const ul = $("inside-vehicles");
    ul.hidden = !st.lane && !list.length;
    ul.replaceChildren(...(list.length ? list : [null]).map((v) => {
      const li = document.createElement("li");
      if (!v) { li.className = "empty"; li.textContent = GP.T("vh_inside_none"); return li; }
      li.dataset.vehicle = v.uuid;
      const who = document.createElement("span");
      who.className = "who";
      const tag = document.createElement("b");
      tag.className = "tag";
      tag.textContent = GP.T("vh_tag");
      who.append(tag, v.plate + " " + (v.driver_name || ""));
      const more = document.createElement("small");
      more.textContent = GP.T("vh_inside_for", {k: GP.lang() === "en" ? v.purpose_en : v.purpose_zh,
        d: v.household || v.driver_phone || "", m: v.minutes_in});
      who.appendChild(more);
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "action ok left";
      btn.textContent = GP.T("left_button");
      btn.addEventListener("click", () => doLeft(v, btn));
      li.append(who, btn);
      return li;
    }));
  }
  async function loadInside() {
    $("inside-vehicles").replaceChildren();
    try { renderInside((await GP.post("/api/vehicles/inside", {})).inside); }
    catch (e) { if (st.lane) $("inside-msg").textContent = e.message; }
  }
  async function doLeft(v, btn) {
    btn.disabled = true;
    try {
      renderInside((await GP.post("/api/vehicles/exit", {vehicle_uuid: v.uuid})).inside);
      GP.toast(GP.T("vh_left_done", {p: v.plate}), false);
    } catch (e) {
      btn.disabled = false;
      $("inside-msg").textContent = e.message;
    }
  }

  document.addEventListener("gp:ready", (ev) => {
    GP = ev.detail;
    $("btn-vehicle").addEventListener("click", () => GP.needShift(openVehicle));
    $("vehicle-ok").addEventListener("click", doVehicle);
    document.querySelectorAll("#vh-driver .choice").forEach((b) => b.addEventListener("click",
      () => pickDriver(b.dataset.driver)));
    ["in-vh-plate", "in-vh-name", "in-vh-phone", "in-vh-note"].forEach((id) => $(id).addEventListener("input", () => {
      const m = $(id).parentElement.querySelector(".fmsg");
      if (m) m.textContent = "";
    }));
    loadLane();
  });
  document.addEventListener("gp:inside", () => { if (GP) loadInside(); });
  document.addEventListener("gp:texts", () => { if (GP) renderPurposes(); });
})();
