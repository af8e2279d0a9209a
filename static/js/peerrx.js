/* Peer-RX's own behaviour, as a static file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  // Countdowns tick between two polls; every poll brings them back to the server's clock.
  // They are aria-hidden: the live region announces changes of state, never the seconds.
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var s = Math.max(0, parseInt(el.dataset.countdown, 10) - 1);
      if (isNaN(s)) { return; }
      el.dataset.countdown = s;
      el.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    });
  }
  setInterval(tick, 1000);

  // Forms that ask first (cancel a request, find another peer): <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // A form with errors: the error summary at the top takes the focus, so it is read out first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
})();
