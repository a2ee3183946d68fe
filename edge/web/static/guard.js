// The guard screen: outcomes and notices over Server-Sent Events, status polled, guard actions as JSON POSTs.
// A notice is never a decision: a re-scan notice shows for NOTICE_S over the result panel and leaves the
// outcome (and what the override button acts on) alone; a direction notice updates the direction control.
"use strict";
(function () {
  const CFG = JSON.parse(document.getElementById("gp-config").textContent);
  const GUARDED = CFG.mode === "guarded";
  const $ = (id) => document.getElementById(id);
  const state = {
    lang: localStorage.getItem("gp.lang") || CFG.language,
    outcome: null,          // newest outcome shown
    outcomeAt: 0,           // performance.now() at which it was decided (age corrected)
    status: null,
    shift: null,
    holdTimer: null,
    connLost: false,
    instance: null,
    overrideReason: null,
    overrideTarget: null,
    visitorReason: null,
    focused: null,
    notice: null,           // newest re-scan notice shown
    noticeAt: 0,            // performance.now() at which it arrived
    noticeTimer: null,
  };
  const NOTICE_S = 4;
  // Measurement hooks: when each outcome was put in the DOM and painted (Date.now(), ms).
  window.gpShown = {};
  window.gpPainted = {};

  function T(key, vars) {
    const table = window.GP_TEXTS[state.lang] || window.GP_TEXTS["zh-CN"];
    let s = table[key];
    if (s === undefined) s = window.GP_TEXTS["zh-CN"][key];
    if (s === undefined) return key;
    if (vars) for (const k in vars) s = s.split("{" + k + "}").join(vars[k]);
    return s;
  }
  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (ts) => { const d = new Date(ts * 1000); return pad(d.getHours()) + ":" + pad(d.getMinutes()); };
  const mmddhhmm = (ts) => {
    const d = new Date(ts * 1000);
    return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  };

  function applyTexts() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = T(el.dataset.i18n); });
    renderOutcome(false);
    renderStatus();
    renderMute();
    renderDirection();
  }

  // ---- result panel -------------------------------------------------------------------------
  function outcomeState(o) {
    if (o.decision === "pass") return "pass";
    if (o.remeasure) return o.temperature_c == null ? "measure" : "remeasure";
    if (o.fever) return "fever";
    if (o.decision === "guard") return "guard";
    return "refuse";
  }
  function headline(o, st) {
    if (st === "pass" && o.event === "override") return T("override_head");
    if (st === "pass" && o.event === "visitor") return T("visitor_head");
    return T(st + "_head");
  }
  function showing() {
    const o = state.outcome;
    return o && (performance.now() - state.outcomeAt) / 1000 < CFG.hold_s;
  }
  function noticeShowing() {
    return state.notice && (performance.now() - state.noticeAt) / 1000 < NOTICE_S;
  }
  function renderNotice() {
    const e = state.notice.entry;
    const panel = $("result");
    $("headline").textContent = T(e.decision === "pass" ? "rescan_pass_head" : "rescan_head");
    $("reason").textContent = T("rescan_sub", {time: hhmm(e.wall_ts), dec: T("dec_" + e.decision),
      msg: state.lang === "en" ? e.message_en : e.message_zh});
    ["temp", "kind", "valid"].forEach((id) => { $(id).textContent = ""; });
    $("temp").classList.remove("hot");
    panel.className = "state-notice";
    panel.dataset.state = "notice";
    panel.dataset.notice = String(e.seq);
    renderActions();
  }
  function renderOutcome(record) {
    const panel = $("result");
    if (!record && noticeShowing()) { renderNotice(); return; }
    const o = showing() ? state.outcome : null;
    let st = "idle";
    if (o) {
      st = outcomeState(o);
      $("headline").textContent = headline(o, st);
      $("reason").textContent = state.lang === "en" ? o.message_en : o.message_zh;
      $("temp").textContent = o.temperature_c == null ? T("no_temp") : T("temp", {t: o.temperature_c.toFixed(1)});
      $("temp").classList.toggle("hot", !!o.fever);
      const kinds = T("kinds");
      $("kind").textContent = o.pass_kind ? (kinds[o.pass_kind] || o.pass_kind) : "";
      $("valid").textContent = o.valid_to ? T("valid_to", {d: mmddhhmm(o.valid_to)}) : "";
      panel.dataset.seq = String(o.seq);
    } else {
      $("headline").textContent = T("idle_head");
      $("reason").textContent = T("idle_sub");
      ["temp", "kind", "valid"].forEach((id) => { $(id).textContent = ""; });
    }
    panel.className = "state-" + st;
    panel.dataset.state = st;
    if (record && o) {
      const seq = o.seq;
      window.gpShown[seq] = Date.now();
      requestAnimationFrame(() => { window.gpPainted[seq] = Date.now(); });
    }
    renderActions();
  }
  function onNotice(n) {
    if (n.kind === "direction") {
      if (state.status) state.status.gate = Object.assign({}, state.status.gate, {chosen_direction: n.chosen_direction});
      renderDirection();
      return;
    }
    if (n.kind !== "rescan" || !n.entry) return;
    state.notice = n;
    state.noticeAt = performance.now() - (n.age_s || 0) * 1000;
    renderOutcome(false);
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(() => renderOutcome(false), NOTICE_S * 1000 + 50);
  }
  function onOutcome(o) {
    if (state.outcome && o.seq === state.outcome.seq && o.uuid === state.outcome.uuid) return;
    state.notice = null;  // a new decision replaces any notice at once
    clearTimeout(state.noticeTimer);
    state.outcome = o;
    state.outcomeAt = performance.now() - (o.age_s || 0) * 1000;
    renderOutcome(true);
    clearTimeout(state.holdTimer);
    const left = CFG.hold_s * 1000 - (performance.now() - state.outcomeAt);
    if (left > 0) state.holdTimer = setTimeout(() => renderOutcome(false), left + 50);
  }

  // ---- live connection ----------------------------------------------------------------------
  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource("/events");
    source.addEventListener("outcome", (ev) => onOutcome(JSON.parse(ev.data)));
    source.addEventListener("notice", (ev) => onNotice(JSON.parse(ev.data)));
    source.onopen = () => setConnLost(false);
    source.onerror = () => {
      setConnLost(true);
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  }
  function setConnLost(lost) {
    if (state.connLost !== lost) { state.connLost = lost; renderStatus(); }
  }

  // ---- status -------------------------------------------------------------------------------
  async function pollStatus() {
    try {
      const r = await fetch("/status", {cache: "no-store"});
      if (!r.ok) throw new Error(String(r.status));
      const s = await r.json();
      if (state.instance && s.instance && s.instance !== state.instance) { location.reload(); return; }
      state.instance = s.instance;
      state.status = s;
      state.shift = s.shift || null;
      if (!state.connLost || (source && source.readyState === EventSource.OPEN)) state.connLost = false;
    } catch (e) {
      state.connLost = true;
    }
    renderStatus();
    renderMute();
    renderActions();
    renderDirection();
    setTimeout(pollStatus, CFG.poll_s * 1000);
  }
  function ageText(age) {
    if (age == null) return T("age_none");
    if (age < 60) return T("age_s");
    if (age < 3600) return T("age_m", {n: Math.floor(age / 60)});
    if (age < 86400) return T("age_h", {n: Math.floor(age / 3600)});
    const days = Math.floor(age / 86400);
    return days === 1 ? T("age_d1") : T("age_d", {n: days});
  }
  function faultList(s) {
    const out = [];
    const add = (f) => { if (f && !out.includes(f)) out.push(f); };
    const devices = s.devices || {};
    for (const name in devices) {
      const d = devices[name];
      if (d.status && d.status !== "ok") add(state.lang === "en" ? (d.text_en || d.text) : (d.text || d.text_en));
    }
    const faults = (state.lang === "en" && s.faults_en) ? s.faults_en : (s.faults || []);
    faults.forEach(add);
    if (s.clock_trusted === false) add(T("clock_untrusted"));
    if (s.lists && s.lists.stale) add(T("list_stale"));
    return out;
  }
  function renderStatus() {
    const s = state.status;
    const conn = $("conn");
    let faults = [];
    if (state.connLost) {
      conn.dataset.state = "lost";
      $("conn-text").textContent = T("conn_lost");
      faults.push(T("conn_lost"));
    } else if (s) {
      const sync = s.sync || {};
      const last = sync.last_ok_ts;
      const fresh = last && s.now - last < 600;
      conn.dataset.state = fresh ? "ok" : "stale";
      $("conn-text").textContent = last ? T(fresh ? "conn_ok" : "conn_stale", {t: hhmm(last)}) : T("conn_never");
    }
    if (s) {
      const gate = s.gate || {};
      if (gate.name) $("gate-name").textContent = gate.name;
      $("direction").textContent = gate.direction ? T("dir_" + gate.direction) : "";
      const sync = s.sync || {};
      $("sync-info").textContent = T("backlog", {n: sync.backlog || 0});
      const lists = s.lists || {};
      $("list-info").textContent = T("list_info", {v: lists.version ?? 0, age: ageText(lists.age_s)});
      $("list-info").classList.toggle("bad", !!lists.stale);
      faults = faults.concat(faultList(s));
    }
    if ($("shift-info")) {
      $("shift-info").textContent = state.shift
        ? T("shift_on", {g: state.shift.guard_id, t: state.shift.since ? hhmm(state.shift.since) : ""})
        : T("shift_none");
    }
    const box = $("faults");
    box.hidden = faults.length === 0;
    box.classList.toggle("many", faults.length >= 3);
    box.replaceChildren(...faults.map((f) => { const d = document.createElement("div"); d.textContent = "⚠ " + f; return d; }));
  }

  // ---- preview ------------------------------------------------------------------------------
  function startPreview() {
    const img = $("preview");
    if (CFG.preview === "off") { img.hidden = true; return; }
    let timer = null;
    const next = () => { clearTimeout(timer); timer = setTimeout(load, CFG.preview_interval_s * 1000); };
    const load = async () => {
      try {
        const r = await fetch("/preview.jpg", {cache: "no-store"});
        if (r.status === 200) {
          const url = URL.createObjectURL(await r.blob());
          const old = img.src;
          img.src = url;
          img.hidden = false;
          $("preview-none").hidden = true;
          if (old.startsWith("blob:")) URL.revokeObjectURL(old);
        } else {
          img.hidden = true;
          $("preview-none").hidden = false;
        }
      } catch (e) {
        img.hidden = true;
        $("preview-none").hidden = false;
      }
      next();
    };
    load();
  }

  // ---- clock --------------------------------------------------------------------------------
  function tick() {
    const d = new Date();
    $("clock").textContent = pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  // ---- guard actions ------------------------------------------------------------------------
  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Gatepass-Token": CFG.token},
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    if (r.status === 403 && data.error === "bad_token") { location.reload(); }
    if (!r.ok) {
      const err = new Error(state.lang === "en" ? (data.message_en || T("error")) : (data.message_zh || T("error")));
      err.status = r.status;
      err.code = data.error;
      throw err;
    }
    return data;
  }
  let toastTimer = null;
  function toast(text, bad) {
    const t = $("toast");
    t.textContent = text;
    t.className = bad ? "bad" : "good";
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 3000);
  }
  function openDialog(id) {
    $("toast").hidden = true;
    document.querySelectorAll(".dialog").forEach((d) => { d.hidden = d.id !== id; });
    const first = $(id).querySelector("input");
    if (first) { first.focus(); state.focused = first; }
  }
  function closeDialogs() { document.querySelectorAll(".dialog").forEach((d) => { d.hidden = true; }); }

  function overridable() {
    const o = state.outcome;
    return !!(o && o.decision !== "pass" && o.event !== "override"
      && (performance.now() - state.outcomeAt) / 1000 < CFG.override_window_s);
  }
  function renderActions() {
    if (!GUARDED) return;
    $("btn-override").disabled = !overridable();
    $("btn-shift").textContent = state.shift ? T("handover") : T("signin_button");
    $("btn-shift").classList.toggle("ok", !state.shift);
    $("actions").dataset.shift = state.shift ? "on" : "off";
  }
  function renderMute() {
    const b = $("btn-mute");
    if (!b) return;
    const muted = !!(state.status && state.status.voice && state.status.voice.muted);
    b.textContent = muted ? T("unmute") : T("mute");
    b.setAttribute("aria-pressed", muted ? "true" : "false");
  }
  // ---- direction at a "both" gate -------------------------------------------------------------
  function chosenDirection() {
    const gate = (state.status && state.status.gate) || {};
    return gate.chosen_direction || "auto";
  }
  function renderDirection() {
    const box = $("dir-control");
    if (!box) return;
    const chosen = chosenDirection();
    box.dataset.chosen = chosen;
    box.querySelectorAll("button.seg").forEach((b) => {
      b.setAttribute("aria-pressed", b.dataset.dir === chosen ? "true" : "false");
      b.disabled = !state.shift;
    });
    $("dir-hint").hidden = !!state.shift;
    $("dir-now").dataset.chosen = chosen;
    $("dir-now").textContent = T("dir_now_" + chosen);
  }
  async function chooseDirection(dir) {
    if (!state.shift || dir === chosenDirection()) return;
    try {
      const data = await post("/api/direction", {direction: dir === "auto" ? null : dir});
      if (state.status) state.status.gate = Object.assign({}, state.status.gate, {chosen_direction: data.chosen_direction});
      renderDirection();
      toast(T("dir_set_" + dir));
    } catch (e) {
      toast(e.message, true);
    }
  }

  function needShift(then) {
    if (state.shift) { then(); return; }
    openSignin(then);
  }

  let afterSignin = null;
  function openSignin(then) {
    afterSignin = then || null;
    $("in-guard").value = "";
    $("in-pin").value = "";
    $("signin-msg").textContent = "";
    openDialog("dlg-signin");
  }
  async function doSignin() {
    const guard = $("in-guard").value.trim();
    const pin = $("in-pin").value.trim();
    try {
      await post("/api/shift/start", {guard_id: guard, pin: pin});
      closeDialogs();
      if (!afterSignin) toast(T("signed_in", {g: guard}));
      state.shift = {guard_id: guard, since: Date.now() / 1000};
      renderActions();
      renderStatus();
      renderDirection();
      const then = afterSignin;
      afterSignin = null;
      if (then) then();
    } catch (e) {
      $("signin-msg").textContent = e.message;
      $("in-pin").value = "";
    }
  }

  function openOverride() {
    const o = state.outcome;
    if (!overridable()) { toast(T("nothing_to_override"), true); return; }
    state.overrideTarget = o;  // the refusal shown now: a scan arriving while the dialog is open must not change it
    state.overrideReason = null;
    document.querySelectorAll("#override-reasons .choice").forEach((b) => b.classList.remove("picked"));
    $("override-msg").textContent = "";
    $("override-what").textContent = T("override_what", {
      time: hhmm(o.wall_ts), msg: state.lang === "en" ? o.message_en : o.message_zh});
    openDialog("dlg-override");
  }
  async function doOverride() {
    if (!state.overrideReason) { $("override-msg").textContent = T("pick_reason"); return; }
    try {
      await post("/api/override", {ref_uuid: state.overrideTarget.uuid, reason: state.overrideReason});
      closeDialogs();
    } catch (e) {
      $("override-msg").textContent = e.message;
    }
  }

  function openVisitor() {
    ["in-v-name", "in-v-phone", "in-v-host", "in-v-temp"].forEach((id) => { $(id).value = ""; });
    state.visitorReason = null;
    document.querySelectorAll("#visitor-reasons .choice").forEach((b) => b.classList.remove("picked"));
    $("visitor-msg").textContent = "";
    openDialog("dlg-visitor");
  }
  async function doVisitor() {
    const name = $("in-v-name").value.trim();
    const phone = $("in-v-phone").value.trim();
    const host = $("in-v-host").value.trim();
    const tempText = $("in-v-temp").value.trim();
    if (!name || !phone || !host || !state.visitorReason) { $("visitor-msg").textContent = T("fill_all"); return; }
    let temp = null;
    if (tempText) {
      temp = Number(tempText);
      if (!(temp >= 30 && temp <= 45)) { $("visitor-msg").textContent = T("bad_temp"); return; }
    }
    try {
      await post("/api/visitor", {name: name, phone: phone, host_household: host, reason: state.visitorReason,
        temperature_c: temp});
      closeDialogs();
    } catch (e) {
      $("visitor-msg").textContent = e.message;
    }
  }

  function summaryRows(s) {
    const rows = [["s_guard", s.guard_id],
      ["s_since", hhmm(s.started_ts) + (s.ended_ts ? " – " + hhmm(s.ended_ts) : "")], ["s_entries", s.entries],
      ["s_passed", s.passed], ["s_refused", s.refused], ["s_fevers", s.fevers], ["s_overrides", s.overrides],
      ["s_visitors", s.visitors]];
    const table = $("summary-table");
    table.replaceChildren(...rows.map(([k, v]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.textContent = T(k);
      const td = document.createElement("td"); td.textContent = String(v);
      if (k === "s_fevers" && v > 0) td.className = "hot";
      tr.append(th, td);
      return tr;
    }));
  }
  let summaryFinal = false;
  async function openHandover() {
    try {
      const r = await fetch("/status", {cache: "no-store"});
      if (r.ok) state.status = await r.json();
    } catch (e) { /* show what we have */ }
    const s = state.status && state.status.shift_summary;
    summaryFinal = false;
    $("dlg-summary").querySelector("h2").textContent = T("summary_running");
    if (s) summaryRows(s); else $("summary-table").replaceChildren();
    $("summary-ok").textContent = T("confirm_handover");
    $("dlg-summary").querySelector("[data-close]").hidden = false;
    openDialog("dlg-summary");
  }
  async function doHandover() {
    if (summaryFinal) { closeDialogs(); return; }
    try {
      const data = await post("/api/shift/end", {});
      state.shift = null;
      renderActions();
      renderStatus();
      renderDirection();
      summaryFinal = true;
      $("dlg-summary").querySelector("h2").textContent = T("summary_title");
      if (data.summary) summaryRows(data.summary);
      $("summary-ok").textContent = T("done");
      $("dlg-summary").querySelector("[data-close]").hidden = true;
    } catch (e) {
      toast(e.message, true);
    }
  }

  function wireGuard() {
    $("btn-lang").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "zh-CN" : "en";
      localStorage.setItem("gp.lang", state.lang);
      applyTexts();
    });
    if ($("btn-mute")) {
      $("btn-mute").addEventListener("click", async () => {
        const muted = !(state.status && state.status.voice && state.status.voice.muted);
        try {
          await post("/api/mute", {muted: muted});
          if (state.status && state.status.voice) state.status.voice.muted = muted;
          renderMute();
        } catch (e) { toast(e.message, true); }
      });
    }
    $("btn-override").addEventListener("click", () => needShift(openOverride));
    $("btn-visitor").addEventListener("click", () => needShift(openVisitor));
    $("btn-shift").addEventListener("click", () => { if (state.shift) openHandover(); else openSignin(null); });
    document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", closeDialogs));
    $("signin-ok").addEventListener("click", doSignin);
    $("override-ok").addEventListener("click", doOverride);
    $("visitor-ok").addEventListener("click", doVisitor);
    $("summary-ok").addEventListener("click", doHandover);
    document.querySelectorAll("#dir-control button.seg").forEach((b) => b.addEventListener("click",
      () => chooseDirection(b.dataset.dir)));
    ["in-guard", "in-pin"].forEach((id) => $(id).addEventListener("focus", () => { state.focused = $(id); }));
    $("in-pin").addEventListener("keydown", (e) => { if (e.key === "Enter") doSignin(); });
    $("keypad").addEventListener("click", (e) => {
      const key = e.target.dataset && e.target.dataset.key;
      const field = state.focused || $("in-guard");
      if (!key) return;
      if (key === "back") field.value = field.value.slice(0, -1);
      else if (key === "clear") field.value = "";
      else if (field.value.length < (field.maxLength > 0 ? field.maxLength : 32)) field.value += key;
    });
    document.querySelectorAll("#override-reasons .choice").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#override-reasons .choice").forEach((x) => x.classList.remove("picked"));
      b.classList.add("picked");
      state.overrideReason = b.dataset.reason;
    }));
    document.querySelectorAll("#visitor-reasons .choice").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#visitor-reasons .choice").forEach((x) => x.classList.remove("picked"));
      b.classList.add("picked");
      state.visitorReason = b.textContent;
    }));
    setInterval(renderActions, 1000);
  }

  if (GUARDED) wireGuard();
  applyTexts();
  tick();
  setInterval(tick, 5000);
  connect();
  pollStatus();
  startPreview();
})();
