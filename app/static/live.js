/* Lockdesk pages, progressively enhanced: live countdowns, a copy button, and a page that refreshes its own
   state. Everything here is optional: without JavaScript the pages show the same times and a reload link. */
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  /* <time data-countdown datetime="ISO" data-done="text">: counts down to the time, in the page's words. */
  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      var out = el.querySelector("[data-left]") || el;
      if (left <= 0) {
        out.textContent = el.getAttribute("data-done") || "";
        return;
      }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      var clock = (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
      out.textContent = (el.getAttribute("data-format") || "__").replace("__", clock);
    });
  }

  /* <button data-copy="#id" hidden>: copies the named field's value and says so. */
  function wireCopyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.querySelector(button.getAttribute("data-copy"));
        if (!field) { return; }
        var done = function () {
          var said = document.getElementById(button.getAttribute("aria-describedby") || "");
          if (said) { said.textContent = button.getAttribute("data-copied") || ""; }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
        } else {
          field.select();
          try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
        }
      });
    });
  }

  /* [data-live] regions are replaced by the same regions of a fresh copy of the page, unless the person is
     typing into a form (their input is never thrown away). */
  function isBusy() {
    var active = document.activeElement;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) { return true; }
    return Array.prototype.some.call(document.querySelectorAll("[data-live] input[type=text], [data-live] textarea"),
      function (field) { return !field.readOnly && field.value !== ""; });
  }

  function refresh() {
    if (document.hidden || isBusy()) { return; }
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (!html || isBusy()) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-live]").forEach(function (region) {
        var twin = fresh.getElementById(region.id);
        if (twin && twin.innerHTML !== region.innerHTML) { region.innerHTML = twin.innerHTML; }
      });
      tickCountdowns();
    }).catch(function () { /* offline for a moment: the next round tries again */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireCopyButtons();
    tickCountdowns();
    window.setInterval(tickCountdowns, 1000);
    var every = parseInt(document.body.getAttribute("data-refresh-seconds") || "0", 10);
    if (every > 0) {
      document.querySelectorAll("[data-reload-hint]").forEach(function (el) { el.hidden = true; });
      window.setInterval(refresh, every * 1000);
    }
  });
}());
