// Hirfa console: a little progressive enhancement, no build step. Every form works without it.
(function () {
  "use strict";
  // Confirm before destructive forms (data-confirm).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // Attendance at the door: mark without reloading the page.
  document.querySelectorAll("form.mark").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !window.fetch) { return; }
      event.preventDefault();
      var data = new FormData(form);
      data.set("present", button.value);
      fetch(form.action, { method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var item = form.closest("li");
          item.querySelector(".status").textContent = answer.label;
          if (answer.ok) { item.dataset.status = answer.status; }
        });
    });
  });

  // Live audience count while composing a broadcast.
  var compose = document.getElementById("compose");
  if (compose) {
    var count = document.getElementById("audience-count");
    var update = function () {
      var params = new URLSearchParams();
      compose.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) { params.append(box.name, box.value); });
      fetch(compose.dataset.countUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) { count.textContent = answer.text; });
    };
    compose.addEventListener("change", function (event) { if (event.target.type === "checkbox") { update(); } });
    update();
    compose.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.value === "preview") { return; }
      if (!window.confirm(compose.dataset.confirmSend + "\n" + count.textContent)) { event.preventDefault(); }
    });
  }

  // A running broadcast: follow its progress.
  var progress = document.getElementById("progress");
  if (progress && progress.dataset.status === "sending") {
    var poll = function () {
      fetch(progress.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          document.getElementById("bc-status").textContent = answer.status_text;
          document.getElementById("bc-counts").textContent = answer.text;
          var bar = document.getElementById("bc-bar");
          bar.max = answer.total || 1; bar.value = answer.done;
          if (answer.status === "sending") { window.setTimeout(poll, 2000); }
        });
    };
    window.setTimeout(poll, 1000);
  }
  // Attendance at the door by the artisan's entry code: typed, or scanned with the camera
  // where the browser has BarcodeDetector (QR). The server checks the code; this only sends it.
  var door = document.getElementById("door-form");
  if (door && window.fetch) {
    var result = document.getElementById("door-result");
    var codeInput = document.getElementById("door-code");
    var busy = false;
    var send = function (code) {
      if (busy) { return; }
      busy = true;
      var data = new FormData(door);
      data.set("code", code);
      fetch(door.action, { method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          result.textContent = answer.message;
          result.className = answer.ok ? "" : "refused";
          if (answer.ok) {
            codeInput.value = "";
            var item = document.getElementById("e" + answer.enrolment);
            if (item) { item.dataset.status = "attended"; item.querySelector(".status").textContent = answer.label; }
          }
        })
        .finally(function () { busy = false; codeInput.focus(); });
    };
    door.addEventListener("submit", function (event) {
      event.preventDefault();
      if (codeInput.value.trim()) { send(codeInput.value.trim()); }
    });
    var scan = document.getElementById("door-scan");
    var video = document.getElementById("door-video");
    if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      scan.hidden = false;
      scan.addEventListener("click", function () {
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        var last = "";
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
          .then(function (stream) {
            video.srcObject = stream; video.hidden = false; scan.hidden = true;
            return video.play();
          })
          .then(function () {
            var look = function () {
              detector.detect(video).then(function (codes) {
                if (codes.length && codes[0].rawValue !== last) { last = codes[0].rawValue; send(last); }
              }).catch(function () { return null; }).finally(function () { window.setTimeout(look, 300); });
            };
            look();
          })
          .catch(function () { result.textContent = door.dataset.noCamera; result.className = "refused"; });
      });
    }
  }
})();
