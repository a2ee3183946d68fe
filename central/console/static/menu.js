// The console menu: one group open at a time; a tap or click elsewhere, or Escape, closes it.
(function () {
  var menus = document.querySelectorAll("#menu details");
  menus.forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open) return;
      menus.forEach(function (other) { if (other !== d) other.open = false; });
    });
  });
  document.addEventListener("click", function (ev) {
    menus.forEach(function (d) { if (d.open && !d.contains(ev.target)) d.open = false; });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") menus.forEach(function (d) { d.open = false; });
  });
})();
