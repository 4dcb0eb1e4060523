// A first visit to an English page, from a browser that prefers another shipped language:
// offer that language's copy of the page (the switcher's link). Decided here, in the
// browser, so the English page itself never varies by Accept-Language for caches. Offered
// once: localStorage remembers, and choosing any language in the switcher counts too.
(function () {
  "use strict";
  var KEY = "language-offered";
  var OFFERS = {
    de: "Diese Seite auf Deutsch lesen",
    fr: "Lire cette page en français",
    es: "Leer esta página en español",
    ru: "Читать эту страницу по-русски"
  };
  var store;
  try { store = window.localStorage; } catch (e) { return; }
  if (!store) { return; }
  var links = document.querySelectorAll(".language-switcher a[data-language]");
  Array.prototype.forEach.call(links, function (a) {
    a.addEventListener("click", function () { try { store.setItem(KEY, "1"); } catch (e) { /* full */ } });
  });
  if (store.getItem(KEY) || (document.documentElement.lang || "en") !== "en") { return; }
  try { store.setItem(KEY, "1"); } catch (e) { return; }
  var wanted = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]);
  for (var i = 0; i < wanted.length; i++) {
    var code = String(wanted[i] || "").toLowerCase().split("-")[0];
    if (code === "en") { return; }
    var link = document.querySelector(".language-switcher a[data-language='" + code + "']");
    if (link && OFFERS[code]) {
      var offer = document.createElement("p");
      offer.className = "language-offer";
      offer.setAttribute("role", "note");
      offer.lang = code;
      var a = document.createElement("a");
      a.href = link.href; a.hreflang = code; a.textContent = OFFERS[code];
      offer.appendChild(a);
      var header = document.querySelector(".site-header");
      if (header && header.parentNode) { header.parentNode.insertBefore(offer, header.nextSibling); }
      return;
    }
  }
})();
