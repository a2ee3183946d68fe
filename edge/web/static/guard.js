// The guard screen: outcomes and notices over Server-Sent Events, status polled, guard actions as JSON POSTs.
// A notice is never a decision: a re-scan notice shows for NOTICE_S over the result panel and leaves the
// outcome (and what the override button acts on) alone; a direction notice updates the direction control.
"use strict";
(function () {
  const CFG = JSON.parse(document.getElementById("gp-config").textContent);
  const GUARDED = CFG.mode === "guarded";
  const $ = (id) => document.getElementById(id);
  // The language choice survives a reload; a browser that refuses storage (a locked-down kiosk profile) keeps it
  // for this page only instead of stopping the script.
  const saved = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* kept in memory only */ } },
  };
  const state = {
    lang: saved.get("gp.lang") || CFG.language,
    outcome: null,          // newest outcome shown
    outcomeAt: 0,           // performance.now() at which it was decided (age corrected)
    status: null,
    shift: null,
    holdTimer: null,
    connLost: false,
    instance: null,
    overrideReason: null,
    overrideTarget: null,
    overrideStep: 1,        // 2: the second confirmation (quarantine, fever, health code refusals)
    hcAnswered: false,      // the guard tapped a colour for the scan held now
    statusAt: 0,            // performance.now() when the newest /status was asked for
    visitorReason: null,
    visitorOutside: null,
    lookedUp: "",
    focused: null,
    notice: null,           // newest re-scan notice shown
    noticeAt: 0,            // performance.now() at which it arrived
    noticeTimer: null,
  };
  const NOTICE_S = 4;
  const HC_CODE = "health_code_check";  // a scan held for the guard's colour tap (seq 0, nothing logged)
  const TEMP_CODES = ["temp_missing", "temp_missing_guard", "no_temperature"];  // "no temperature" is the reason
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
    document.dispatchEvent(new CustomEvent("gp:texts"));  // other scripts (vehicles.js) re-render their words
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
    if (o.code === HC_CODE) return T("hc_head");
    if (st === "pass" && o.event === "override") return T("override_head");
    if (st === "pass" && o.event === "visitor") return T("visitor_head");
    return T(st + "_head");
  }
  function holdFor(o) {
    return o.code === HC_CODE ? Math.max(CFG.hold_s, CFG.health_hold_s) : CFG.hold_s;
  }
  function showing() {
    const o = state.outcome;
    return o && (performance.now() - state.outcomeAt) / 1000 < holdFor(o);
  }
  function deviceOk(name) {
    const d = state.status && state.status.devices && state.status.devices[name];
    return !!(d && d.status === "ok");
  }
  function idleSub() {
    if (!state.status || !state.status.devices) return T("idle_sub");
    const temp = deviceOk("thermometer") ? "_temp" : "";
    if (deviceOk("camera")) return T("idle_sub_cam" + temp);
    if (deviceOk("scanner")) return T("idle_sub_scan" + temp);
    return T("idle_sub_none");
  }
  function unitText(o) {
    if (!o.household) return "";
    return T(o.event === "visitor" || o.code === "host_quarantined" ? "unit_host" : "unit", {h: o.household});
  }
  function tempText(o) {
    if (o.temperature_c != null) return T("temp", {t: o.temperature_c.toFixed(1)});
    return TEMP_CODES.includes(o.code) ? T("no_temp") : "";  // only when the missing reading is the point
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
    ["unit", "temp", "kind", "valid"].forEach((id) => { $(id).textContent = ""; });
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
      $("reason").textContent = (state.lang === "en" ? o.message_en : o.message_zh)
        + (o.detail ? T("detail", {d: o.detail}) : "");  // e.g. why the pass was revoked
      $("unit").textContent = unitText(o);
      $("temp").textContent = tempText(o);
      $("temp").classList.toggle("hot", !!o.fever);
      const kinds = T("kinds");
      $("kind").textContent = o.pass_kind ? (kinds[o.pass_kind] || o.pass_kind) : "";
      $("valid").textContent = o.valid_to ? T("valid_to", {d: mmddhhmm(o.valid_to)}) : "";
      panel.dataset.seq = String(o.seq);
    } else {
      $("headline").textContent = T("idle_head");
      $("reason").textContent = idleSub();
      ["unit", "temp", "kind", "valid"].forEach((id) => { $(id).textContent = ""; });
    }
    panel.className = "state-" + st + (o && o.code === HC_CODE ? " hc-hold" : "");
    panel.dataset.state = st;
    panel.dataset.code = o ? o.code : "";
    renderHealthCode();
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
    const last = state.outcome;
    if (last && o.seq === last.seq && o.uuid === last.uuid && o.t_decided === last.t_decided) return;
    state.hcAnswered = false;
    state.notice = null;  // a new decision replaces any notice at once
    clearTimeout(state.noticeTimer);
    state.outcome = o;
    state.outcomeAt = performance.now() - (o.age_s || 0) * 1000;
    renderOutcome(true);
    clearTimeout(state.holdTimer);
    const left = holdFor(o) * 1000 - (performance.now() - state.outcomeAt);
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
    const askedAt = performance.now();
    try {
      const r = await fetch("/status", {cache: "no-store"});
      if (r.status === 403) { location.reload(); return; }  // unpaired: the pairing page, nothing left on screen
      if (!r.ok) throw new Error(String(r.status));
      const s = await r.json();
      if (state.instance && s.instance && s.instance !== state.instance) { location.reload(); return; }
      state.instance = s.instance;
      state.status = s;
      state.statusAt = askedAt;
      state.shift = s.shift || null;
      if (!state.connLost || (source && source.readyState === EventSource.OPEN)) state.connLost = false;
    } catch (e) {
      state.connLost = true;
    }
    renderStatus();
    renderMute();
    renderActions();
    renderDirection();
    if (!showing() && !noticeShowing()) $("reason").textContent = idleSub();  // the devices may have changed
    renderHealthCode();
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
    const voice = s.voice;
    if (voice && voice.state === "failing") add(T("voice_" + (voice.problem || "player_failed")));
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
      renderSync(s.sync || {});
    }
    renderOutage(state.connLost ? null : s);
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

  // Sync: green while uploads succeed; amber after 2 minutes without one (with the plain sentence and the backlog
  // large, below the result), red after 30 minutes (levels from /status: sync.level, sync.offline_s).
  function renderSync(sync) {
    const conn = $("conn");
    const last = sync.last_ok_ts;
    const level = sync.level || "ok";
    if (level === "amber" || level === "red") {
      const secs = sync.offline_s || 0;
      const d = secs < 3600 ? T("dur_m", {n: Math.floor(secs / 60)}) : T("dur_h", {n: Math.floor(secs / 3600)});
      conn.dataset.state = level;
      $("conn-text").textContent = T("conn_out", {d: d, t: last ? hhmm(last) : "–"});
    } else {
      conn.dataset.state = last ? "ok" : "stale";
      $("conn-text").textContent = last ? T("conn_ok", {t: hhmm(last)}) : T("conn_never");
    }
  }
  function renderOutage(s) {
    const box = $("outage");
    const sync = (s && s.sync) || {};
    const level = sync.level || "ok";
    box.hidden = !(level === "amber" || level === "red");
    box.dataset.level = level;
    $("left").classList.toggle("has-outage", !box.hidden);  // the result panel makes room for it
    if (box.hidden) return;
    const sentence = state.lang === "en" ? (sync.problem_en || sync.problem_zh) : (sync.problem_zh || sync.problem_en);
    $("outage-text").textContent = (level === "red" ? T("out_call") : "") + (sentence || "");
    $("outage-label").textContent = T("out_backlog_label");
    $("outage-backlog").textContent = T("out_backlog", {n: sync.backlog || 0});
  }

  // ---- the city health code: three big colour buttons while a scan is held -------------------------
  function hcWaiting() {
    const o = state.outcome;
    if (!GUARDED || !o || o.code !== HC_CODE || !showing() || noticeShowing() || state.hcAnswered) return false;
    const hc = state.status && state.status.health_code;
    // a /status asked for after the hold began that says nothing waits: answered elsewhere or timed out
    return !(hc && hc.waiting === false && state.statusAt > state.outcomeAt + 500);
  }
  function renderHealthCode() {
    const box = $("hc-buttons");
    if (!box) return;
    box.hidden = !hcWaiting();
  }
  async function tapColour(colour) {
    if (!hcWaiting()) return;
    hcDisable(true);
    try {
      await post("/api/health_code", {colour: colour});
      state.hcAnswered = true;
      renderHealthCode();
      toast(T("hc_sent", {c: T("hc_" + colour)}));
    } catch (e) {
      toast(e.message, true);
      if (e.code === "no_hold") { state.hcAnswered = true; renderHealthCode(); }
    } finally {
      hcDisable(false);
    }
  }
  function hcDisable(on) {
    document.querySelectorAll("#hc-buttons .hc-btn").forEach((b) => { b.disabled = on; });
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
    if (r.status === 403 && (data.error === "bad_token" || data.error === "not_paired")) { location.reload(); }
    if (!r.ok) {
      const err = new Error(state.lang === "en" ? (data.message_en || T("error")) : (data.message_zh || T("error")));
      err.status = r.status;
      err.code = data.error;
      err.fields = data.fields;  // a form's bad fields with their reasons (vehicles.js)
      err.field = data.field || "";  // the form field it is about (shown there)
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
    return !!(o && o.seq > 0 && o.uuid && o.decision !== "pass" && o.event !== "override"
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
    const voice = state.status && state.status.voice;
    const muted = !!(voice && voice.muted);
    const failing = !!(voice && voice.state === "failing");
    b.textContent = muted ? T("unmute") : (failing ? T("voice_failing") : T("mute"));
    b.setAttribute("aria-pressed", muted ? "true" : "false");
    b.classList.toggle("fault", failing && !muted);
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
      const signed = await post("/api/shift/start", {guard_id: guard, pin: pin});
      closeDialogs();
      if (!afterSignin) toast(T("signed_in", {g: guard}));
      state.shift = {guard_id: guard, since: Date.now() / 1000};
      renderActions();
      renderStatus();
      renderDirection();
      const then = afterSignin;
      afterSignin = null;
      if (signed.handover) showHandoverIn(signed.handover);  // the previous guard's note first
      else if (then) then();
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
    $("in-o-note").value = "";
    $("override-msg").textContent = "";
    const unit = unitText(o);
    $("override-what").textContent = T("override_what", {
      time: hhmm(o.wall_ts), msg: (unit ? unit + " · " : "") + (state.lang === "en" ? o.message_en : o.message_zh)});
    overrideStep(1);
    openDialog("dlg-override");
    $("in-o-note").blur();  // no on-screen keyboard until the guard taps the note
    state.focused = null;
  }
  function pickReason(reason) {
    state.overrideReason = reason;
    document.querySelectorAll("#override-reasons .choice").forEach((x) => {
      x.classList.toggle("picked", x.dataset.reason === reason);
    });
    $("note-hint").textContent = T(reason === "other" ? "note_needed" : "note_optional");
    $("note-box").classList.toggle("needed", reason === "other");
    $("override-msg").textContent = "";
    if (reason === "other") $("in-o-note").focus();
  }
  function needsConfirm(o) {
    return !!(o && (o.fever || (CFG.confirm_codes || []).includes(o.code)));
  }
  function confirmQuestion(o) {
    const h = o.household || T("this_household");
    if (o.code === "quarantined" || o.code === "host_quarantined") return T("confirm_" + o.code, {h: h});
    if (o.code.startsWith("health_code_")) return T("confirm_" + o.code);
    return T("confirm_fever", {t: o.temperature_c != null ? "（" + o.temperature_c.toFixed(1) + " °C）" : ""});
  }
  function overrideStep(step) {
    state.overrideStep = step;
    $("override-step1").hidden = step !== 1;
    $("override-step2").hidden = step !== 2;
    $("override-ok").textContent = T(step === 2 ? "confirm_again" : "override_confirm");
    $("override-ok").classList.toggle("danger", step === 2);
    if (step === 2) $("confirm-q").textContent = confirmQuestion(state.overrideTarget);
  }
  async function doOverride() {
    const o = state.overrideTarget;
    const note = $("in-o-note").value.trim();
    if (!state.overrideReason) { $("override-msg").textContent = T("pick_reason"); return; }
    if (state.overrideReason === "other" && !note) { $("override-msg").textContent = T("note_needed"); return; }
    if (state.overrideStep === 1 && needsConfirm(o)) { $("override-msg").textContent = ""; overrideStep(2); return; }
    try {
      await post("/api/override", {ref_uuid: o.uuid, reason: state.overrideReason, note: note,
        confirmed: state.overrideStep === 2});
      closeDialogs();
    } catch (e) {
      if (e.code === "confirm_needed") { overrideStep(2); return; }  // the checkpoint asks a second time
      $("override-msg").textContent = e.message;
    }
  }

  function openVisitor() {
    ["in-v-name", "in-v-phone", "in-v-host", "in-v-temp", "in-v-id4", "in-v-city", "in-v-other"].forEach((id) => {
      $(id).value = "";
    });
    $("in-v-other").hidden = true;
    state.visitorReason = null;
    state.visitorOutside = null;
    state.lookedUp = "";
    $("visitor-hint").textContent = "";
    document.querySelectorAll("#visitor-outside .choice").forEach((b) => b.classList.remove("picked"));
    document.querySelectorAll("#visitor-reasons .choice").forEach((b) => b.classList.remove("picked"));
    $("visitor-msg").textContent = "";
    clearFieldErrors();
    openDialog("dlg-visitor");
  }
  // A refusal about one field of the visitor form is shown on that field (red frame, the reason under it).
  const VISITOR_FIELDS = {name: "in-v-name", phone: "in-v-phone", host_household: "in-v-host",
    temperature_c: "in-v-temp", id_last4: "in-v-id4", from_city: "in-v-city", reason: "in-v-other"};
  function fieldError(field, text) {
    const input = $(VISITOR_FIELDS[field] || "");
    if (!input || input.hidden) return false;
    const label = input.closest("label") || input.parentElement;
    let msg = label.querySelector(".field-msg");
    if (!msg) {
      msg = document.createElement("span");
      msg.className = "field-msg";
      msg.dataset.for = input.id;
      input.after(msg);
    }
    msg.textContent = text;
    input.classList.add("bad");
    input.focus();
    return true;
  }
  function clearFieldErrors(input) {
    document.querySelectorAll("#dlg-visitor .field-msg").forEach((m) => {
      if (!input || m.dataset.for === input.id) m.remove();
    });
    document.querySelectorAll("#dlg-visitor input.bad").forEach((i) => { if (!input || i === input) i.classList.remove("bad"); });
  }
  // A visitor who came before (same phone, this gate's book): name, host and reason filled in, no extra tap.
  async function lookUpVisitor() {
    const phone = $("in-v-phone").value.replace(/[^0-9+]/g, "");
    if (phone.length < 11 || phone === state.lookedUp) return;
    state.lookedUp = phone;
    try {
      const v = (await post("/api/visitors/recent", {phone: phone})).visitor;
      if (!v || $("in-v-phone").value.replace(/[^0-9+]/g, "") !== phone) return;
      if (!$("in-v-name").value.trim()) $("in-v-name").value = v.name;
      if (!$("in-v-host").value.trim()) $("in-v-host").value = v.household;
      if (!$("in-v-city").value.trim() && v.details && v.details.from_city) $("in-v-city").value = v.details.from_city;
      document.querySelectorAll("#visitor-reasons .choice").forEach((b) => {
        const other = b.dataset.i18n === "vr_other" && v.reason.startsWith(b.textContent + "：");
        if (state.visitorReason || (b.textContent !== v.reason && !other)) return;
        b.click();
        if (other) $("in-v-other").value = v.reason.slice(b.textContent.length + 1);
      });
      $("visitor-hint").textContent = T("last_visit", {d: mmddhhmm(v.in_ts), h: v.household});
    } catch (e) { state.lookedUp = ""; }
  }

  // -- visitors now inside: one tap on "left" records the exit --------------------------------
  function renderInside(list) {
    const ul = $("inside-list");
    ul.textContent = "";
    if (!list.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = T("inside_none");
      ul.appendChild(li);
      return;
    }
    list.forEach((v) => {
      const li = document.createElement("li");
      li.dataset.uuid = v.uuid;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = v.name + " " + v.phone;
      const more = document.createElement("small");
      more.textContent = T("inside_for", {h: v.household, m: v.minutes_in});
      who.appendChild(more);
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "action ok left";
      btn.textContent = T("left_button");
      btn.addEventListener("click", () => doLeft(v, btn));
      li.append(who, btn);
      ul.appendChild(li);
    });
  }
  async function openInside() {
    $("inside-msg").textContent = "";
    $("inside-list").textContent = "";
    openDialog("dlg-inside");
    document.dispatchEvent(new CustomEvent("gp:inside"));  // vehicles.js lists the vehicles inside too
    try { renderInside((await post("/api/visitors/inside", {})).inside); }
    catch (e) { $("inside-msg").textContent = e.message; }
  }
  async function doLeft(v, btn) {
    btn.disabled = true;
    try {
      const r = await post("/api/visitors/exit", {visit_uuid: v.uuid});
      renderInside(r.inside);
      toast(T("left_done", {n: v.name}), false);
    } catch (e) {
      btn.disabled = false;
      $("inside-msg").textContent = e.message;
    }
  }

  async function doVisitor() {
    const name = $("in-v-name").value.trim();
    const phone = $("in-v-phone").value.trim();
    const host = $("in-v-host").value.trim();
    const tempText = $("in-v-temp").value.trim();
    if (!name || !phone || !host || !state.visitorReason) { $("visitor-msg").textContent = T("fill_all"); return; }
    let reason = state.visitorReason;
    if (!$("in-v-other").hidden) {
      const what = $("in-v-other").value.trim();
      if (!what) { $("visitor-msg").textContent = T("other_reason"); $("in-v-other").focus(); return; }
      reason = reason + "：" + what;
    }
    const id4 = $("in-v-id4").value.trim().toUpperCase();
    if (id4 && !/^[0-9]{3}[0-9X]$/.test(id4)) {
      $("visitor-msg").textContent = T("bad_id4");
      $("in-v-id4").focus();
      return;
    }
    let temp = null;
    if (tempText) {
      temp = Number(tempText);
      if (!(temp >= 30 && temp <= 45)) { $("visitor-msg").textContent = T("bad_temp"); return; }
    }
    try {
      const r = await post("/api/visitor", {name: name, phone: phone, host_household: host, reason: reason,
        temperature_c: temp, id_last4: id4, from_city: $("in-v-city").value.trim(), outside_14d: state.visitorOutside});
      const o = r.outcome || {};
      if (o.code === "host_quarantined") {  // refused and logged (staff alerted): the reason on the host field
        fieldError("host_household", state.lang === "en" ? o.message_en : o.message_zh);
        return;
      }
      closeDialogs();
    } catch (e) {
      if (!(e.field && fieldError(e.field, e.message))) $("visitor-msg").textContent = e.message;
    }
  }

  // The hand-over: counts, then refusals by reason, overrides with their reasons and notes, faults (in words).
  function reasonWords(code) {
    const rc = T("rc");
    return (rc && rc[code]) || rc.other;
  }
  function summaryRows(s) {
    const rows = [["s_guard", s.guard_id],
      ["s_since", hhmm(s.started_ts) + (s.ended_ts ? " – " + hhmm(s.ended_ts) : "")], ["s_entries", s.entries],
      ["s_passed", s.passed], ["s_refused", s.refused], ["s_high", s.high_readings || 0],
      ["s_fever_events", s.fevers], ["s_overrides", s.overrides], ["s_visitors", s.visitors]];
    const table = $("summary-table");
    table.replaceChildren(...rows.map(([k, v]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.textContent = T(k);
      const td = document.createElement("td"); td.textContent = String(v);
      if ((k === "s_fever_events" || k === "s_high") && v > 0) td.className = "hot";
      tr.dataset.key = k;
      tr.append(th, td);
      return tr;
    }));
    summaryLists(s);
  }
  function summaryList(title, key, items) {
    const sec = document.createElement("section");
    sec.dataset.key = key;
    const h = document.createElement("h3"); h.textContent = T(title);
    sec.append(h);
    const lines = items.length ? items : [T("s_none")];
    lines.forEach((line) => { const d = document.createElement("div"); d.textContent = line; sec.append(d); });
    return sec;
  }
  function summaryLists(s) {
    const reasonName = (r) => T("reason_" + r);
    const refusals = (s.refusals_by_reason || []).map(([code, n]) => reasonWords(code) + " × " + n);
    const overrides = (s.override_notes || []).map((n) => hhmm(n.at) + " " + reasonName(n.reason)
      + (n.note ? T("note_sep") + n.note : ""));
    const faults = (s.faults || []).map((f) => hhmm(f.since) + "–" + (f.until ? hhmm(f.until) : T("s_still")) + " "
      + (state.lang === "en" ? (f.text_en || f.text_zh) : (f.text_zh || f.text_en)));
    $("summary-lists").replaceChildren(summaryList("s_refusals", "refusals", refusals),
      summaryList("s_override_list", "overrides", overrides), summaryList("s_faults", "faults", faults));
  }
  let summaryFinal = false;
  async function openHandover() {
    try {
      const r = await fetch("/status", {cache: "no-store"});
      if (r.ok) state.status = await r.json();
    } catch (e) { /* show what we have */ }
    const s = state.status && state.status.shift_summary;
    summaryFinal = false;
    $("note-text").value = "";  // a new hand-over: no note yet
    $("summary-note").hidden = false;
    $("dlg-summary").querySelector("h2").textContent = T("summary_running");
    if (s) summaryRows(s); else { $("summary-table").replaceChildren(); $("summary-lists").replaceChildren(); }
    $("summary-ok").textContent = T("confirm_handover");
    $("dlg-summary").querySelector("[data-close]").hidden = false;
    openDialog("dlg-summary");
  }
  function showHandoverIn(h) {
    $("handover-in-who").textContent = T("handover_in_who", {g: h.guard_id, t: mmddhhmm(h.ended_at)});
    $("handover-in-note").textContent = h.note;
    openDialog("dlg-handover-in");
  }
  function openNote() {
    $("note-msg").textContent = "";
    $("note-text").maxLength = CFG.handover_note_max || 300;
    $("note-text").placeholder = T("note_placeholder");
    $("note-phrases").replaceChildren(...(CFG.handover_phrases || []).map((p) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "choice phrase";
      b.textContent = p;
      b.addEventListener("click", () => {
        const t = $("note-text");
        if (!t.value.split("\n").includes(p)) t.value = (t.value.trim() ? t.value.trim() + "\n" : "") + p;
        b.classList.add("picked");
      });
      return b;
    }));
    openDialog("dlg-note");
  }
  async function doHandover() {
    if (summaryFinal) { closeDialogs(); return; }
    await doSignout();
  }
  async function doSignout() {
    try {
      const data = await post("/api/shift/end", {note: $("note-text").value});
      state.shift = null;
      renderActions();
      renderStatus();
      renderDirection();
      summaryFinal = true;
      $("dlg-summary").querySelector("h2").textContent = T("summary_title");
      if (data.summary) summaryRows(data.summary);
      $("summary-ok").textContent = T("done");
      $("dlg-summary").querySelector("[data-close]").hidden = true;
      $("summary-note").hidden = true;
      openDialog("dlg-summary");
    } catch (e) {
      if (!$("dlg-note").hidden) $("note-msg").textContent = e.message; else toast(e.message, true);
    }
  }

  function wireGuard() {
    $("btn-lang").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "zh-CN" : "en";
      saved.set("gp.lang", state.lang);
      applyTexts();
    });
    if ($("btn-mute")) {
      $("btn-mute").addEventListener("click", () => needShift(async () => {  // a signed-in guard's choice
        const muted = !(state.status && state.status.voice && state.status.voice.muted);
        try {
          await post("/api/mute", {muted: muted});
          if (state.status && state.status.voice) state.status.voice.muted = muted;
          renderMute();
        } catch (e) { toast(e.message, true); }
      }));
    }
    $("btn-override").addEventListener("click", () => needShift(openOverride));
    $("btn-visitor").addEventListener("click", () => needShift(openVisitor));
    $("btn-inside").addEventListener("click", () => needShift(openInside));
    $("in-v-phone").addEventListener("input", lookUpVisitor);
    Object.values(VISITOR_FIELDS).forEach((id) => $(id).addEventListener("input", () => clearFieldErrors($(id))));
    document.querySelectorAll("#visitor-outside .choice").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#visitor-outside .choice").forEach((x) => x.classList.remove("picked"));
      b.classList.add("picked");
      state.visitorOutside = b.dataset.outside === "yes";
    }));
    $("btn-shift").addEventListener("click", () => { if (state.shift) openHandover(); else openSignin(null); });
    document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", closeDialogs));
    $("signin-ok").addEventListener("click", doSignin);
    $("override-ok").addEventListener("click", doOverride);
    $("visitor-ok").addEventListener("click", doVisitor);
    $("summary-ok").addEventListener("click", doHandover);
    $("note-ok").addEventListener("click", doSignout);
    $("summary-note").addEventListener("click", openNote);
    $("note-text").addEventListener("input", () => { $("note-msg").textContent = ""; });
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
    document.querySelectorAll("#override-reasons .choice").forEach((b) => b.addEventListener("click",
      () => pickReason(b.dataset.reason)));
    $("in-o-note").addEventListener("keydown", (e) => { if (e.key === "Enter") doOverride(); });
    $("in-o-note").addEventListener("input", () => { $("override-msg").textContent = ""; });
    document.querySelectorAll("#hc-buttons .hc-btn").forEach((b) => b.addEventListener("click",
      () => needShift(() => tapColour(b.dataset.colour))));
    document.querySelectorAll("#visitor-reasons .choice").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#visitor-reasons .choice").forEach((x) => x.classList.remove("picked"));
      b.classList.add("picked");
      state.visitorReason = b.textContent;
      const other = b.dataset.i18n === "vr_other";
      $("in-v-other").hidden = !other;
      if (other) { $("in-v-other").placeholder = T("other_reason"); $("in-v-other").focus(); }
    }));
    setInterval(renderActions, 1000);
  }

  // The screen's helpers for the dialogs in their own files (deliveries.js, ...).
  window.gpGuard = {post: post, T: T, toast: toast, openDialog: openDialog, closeDialogs: closeDialogs,
    needShift: needShift};
  if (GUARDED) wireGuard();
  // The guard page's other scripts (vehicles.js) use these helpers; they load before this file.
  window.GP = {T: T, post: post, toast: toast, openDialog: openDialog, closeDialogs: closeDialogs, needShift: needShift,
    hhmm: hhmm, lang: () => state.lang, outcome: () => state.outcome};
  document.dispatchEvent(new CustomEvent("gp:ready", {detail: window.GP}));
  applyTexts();
  tick();
  setInterval(tick, 5000);
  connect();
  pollStatus();
  startPreview();
})();
