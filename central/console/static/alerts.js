// Live alerts: reload the table every data-interval seconds, unless the user is typing a note.
(function () {
  "use strict";
  var box = document.getElementById("alerts-live");
  if (!box) { return; }
  function busy() {
    var el = document.activeElement;
    return el && box.contains(el) && el.tagName === "INPUT" && el.value !== "";
  }
  function refresh() {
    if (busy()) { return; }
    fetch(box.getAttribute("data-src"), {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (r.status === 200) { return r.text(); } throw new Error(r.status); })
      .then(function (html) { if (!busy()) { box.innerHTML = html; box.setAttribute("data-refreshed", Date.now()); } })
      .catch(function () { /* keep the last list; try again later */ });
  }
  var seconds = parseFloat(box.getAttribute("data-interval")) || 10;
  setInterval(refresh, seconds * 1000);
})();
