// Progressive enhancement for the donation panel: custom amount selection and live totals.
(function () {
  "use strict";
  var form = document.querySelector(".donate-form");
  if (form) {
    // One nonce per page load, made here (the cached page carries none): both clicks of a
    // double click send it, so they share one checkout; two readers never share one.
    var nonce = form.querySelector("input[name=submission_nonce]");
    if (nonce && !nonce.value && window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      nonce.value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
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

  // The figures may appear twice (a summary near the top on phones, and the panel).
  var blocks = document.querySelectorAll("[data-totals-url]");
  if (!blocks.length || !window.fetch) { return; }
  var url = blocks[0].getAttribute("data-totals-url");
  function format(minor, currency) {
    var lang = document.documentElement.lang || "en";
    try {
      var digits = new Intl.NumberFormat(lang, { style: "currency", currency: currency }).resolvedOptions().maximumFractionDigits;
      var scale = Math.pow(10, digits);
      var shown = minor % scale === 0 ? 0 : digits;
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency, minimumFractionDigits: shown, maximumFractionDigits: shown }).format(minor / scale);
    } catch (e) { return currency + " " + (minor / 100).toFixed(2); }
  }
  function show(block, t, pct) {
    block.querySelector("[data-field=raised]").textContent = format(t.raised_minor, t.currency);
    block.querySelector("[data-field=goal]").textContent = format(t.goal_minor, t.currency);
    block.querySelector("[data-field=supporters]").textContent = String(t.supporters);
    block.querySelector("[data-field=supporters-label]").textContent = t.supporters === 1 ? "supporter" : "supporters";
    var bar = block.querySelector("[data-field=bar]");
    bar.value = pct; bar.textContent = pct + "%";
  }
  function refresh() {
    fetch(url, { credentials: "omit", cache: "no-cache" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (t) {
      if (!t) { return; }
      var pct = t.goal_minor > 0 ? Math.min(100, Math.floor(t.raised_minor * 100 / t.goal_minor)) : 0;
      Array.prototype.forEach.call(blocks, function (block) { show(block, t, pct); });
    }).catch(function () { /* keep the figures already shown */ });
  }
  refresh();
  // Background tabs do not poll (a viral page means many of them); they catch up on return.
  setInterval(function () { if (!document.hidden) { refresh(); } }, 15000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
