// The enrolment screen: ask /enrol/state every 2 s, show a new code and QR by itself, count the time down,
// and go back to the guard page once the gate is enrolled (the services restart with their token).
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("gp-enrol").textContent);
  var shownAt = Date.now();
  var $ = function (id) { return document.getElementById(id); };

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function render() {
    var approved = state.status === "approved";
    $("enrol").dataset.status = state.status;
    $("enrol").dataset.qr = state.code && !approved ? "yes" : "no";
    $("waiting").hidden = approved;
    $("approved").hidden = !approved;
    $("code").textContent = state.code || "……";
    $("fingerprint").textContent = state.fingerprint || "";
    $("message").textContent = state.message_zh || "";
    $("message").className = "msg " + state.status;
    $("message-en").textContent = state.message_en || "";
    $("url").textContent = state.approve_url || "";
    var qr = $("qr");
    if (state.code && !approved) {
      if (!qr) {
        qr = document.createElement("img");
        qr.id = "qr"; qr.width = 300; qr.height = 300; qr.alt = "接入二维码 / enrolment QR";
        $("qr-box").appendChild(qr);
      }
      var src = "/enrol/qr.svg?c=" + encodeURIComponent(state.code);
      if (qr.getAttribute("src") !== src) { qr.setAttribute("src", src); }
      qr.hidden = false;
    } else if (qr) {
      qr.hidden = true;
    }
    tick();
  }

  function tick() {
    if (state.seconds_left === null || state.seconds_left === undefined || state.status === "approved") {
      $("left").textContent = "";
      $("left-en").textContent = "";
      return;
    }
    var left = Math.max(0, state.seconds_left - Math.floor((Date.now() - shownAt) / 1000));
    var clock = Math.floor(left / 60) + ":" + pad(left % 60);
    $("left").textContent = left > 0 ? "剩余 " + clock + " · 到期自动换新码" : "正在换新接入码…";
    $("left-en").textContent = left > 0 ? clock + " left; a new code when it expires" : "getting a new code...";
  }

  function poll() {
    fetch("/enrol/state", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (s) {
      if (s.status === "done") { window.location.replace("/"); return; }
      state = s; shownAt = Date.now(); render();
    }).catch(function () {
      $("message").textContent = "正在重新连接本机服务… / reconnecting to this gate's service...";
    });
  }

  render();
  setInterval(tick, 1000);
  setInterval(poll, 2000);
}());
