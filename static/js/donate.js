// Progressive enhancement for the donation panel: custom amount selection and live totals.
(function () {
  "use strict";
  var form = document.querySelector(".donate-form");
  if (form) {
    var other = form.querySelector("#amount_other");
    var otherRadio = form.querySelector("#amount-other");
    if (other && otherRadio) {
      other.addEventListener("input", function () { if (other.value) { otherRadio.checked = true; } });
      other.addEventListener("focus", function () { otherRadio.checked = true; });
    }
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      // A second click would only reuse the same checkout, but say that we're on it.
      if (button) { button.setAttribute("aria-busy", "true"); button.textContent = "Opening secure checkout…"; }
    });
  }

  var block = document.querySelector("[data-totals-url]");
  if (!block || !window.fetch) { return; }
  var url = block.getAttribute("data-totals-url");
  function format(minor, currency) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || "en", { style: "currency", currency: currency, maximumFractionDigits: 0 }).format(Math.floor(minor / 100));
    } catch (e) { return currency + " " + Math.floor(minor / 100); }
  }
  function refresh() {
    fetch(url, { credentials: "omit", cache: "no-cache" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (t) {
      if (!t) { return; }
      block.querySelector("[data-field=raised]").textContent = format(t.raised_minor, t.currency);
      block.querySelector("[data-field=goal]").textContent = format(t.goal_minor, t.currency);
      block.querySelector("[data-field=supporters]").textContent = String(t.supporters);
      block.querySelector("[data-field=supporters-label]").textContent = t.supporters === 1 ? "supporter" : "supporters";
      var bar = block.querySelector("[data-field=bar]");
      var pct = t.goal_minor > 0 ? Math.min(100, Math.floor(t.raised_minor * 100 / t.goal_minor)) : 0;
      bar.value = pct; bar.textContent = pct + "%";
    }).catch(function () { /* keep the figures already shown */ });
  }
  refresh();
  setInterval(refresh, 15000);
})();
