/* Autosave of the self-assessment draft. The page works without it: the buttons post the
   whole form. With it, answers are saved in the background as they change, without reloading
   the page, so focus and scroll position stay where they are. Files go with the buttons only. */
(function () {
  "use strict";
  var form = document.getElementById("assessment-form");
  if (!form || form.dataset.readOnly === "true" || !window.fetch || !window.FormData) return;
  var statusLine = document.getElementById("autosave-status");
  var answeredLabel = document.getElementById("answered");
  var progress = document.getElementById("progress");
  var timer = null, saving = false, again = false, stopped = false, held = false, heldSubmitter = null;

  function recount() {
    var count = 0;
    form.querySelectorAll(".pillar-section").forEach(function (section) {
      var inPillar = 0;
      section.querySelectorAll("fieldset.indicator").forEach(function (box) {
        var answered = !!box.querySelector("input[type=radio]:checked");
        box.classList.toggle("answered", answered);
        if (answered) inPillar += 1;
      });
      var label = section.querySelector("[data-pillar-answered]");
      if (label) label.textContent = inPillar;
      count += inPillar;
    });
    answeredLabel.textContent = count;
    progress.value = count;
  }

  // After a refused submit, the first missing answer's link has the focus (autofocus; again
  // here for browsers that give it only to form fields).
  var firstMissing = document.querySelector("#belum-lengkap a");
  if (firstMissing && document.activeElement !== firstMissing) firstMissing.focus();

  function show(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("text-danger", !!isError);
  }

  function schedule() {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(save, 1200);
  }

  function save() {
    if (stopped) return;
    if (saving) { again = true; return; }
    saving = true;
    var data = new FormData(form);
    form.querySelectorAll("input[type=file]").forEach(function (input) { data.delete(input.name); });
    // Without files, sent as a plain form (urlencoded): cheaper for the server to read than multipart.
    data = new URLSearchParams(data);
    data.delete("action");
    show(form.dataset.msgSaving, false);
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      if (result.status === 200) {
        form.querySelector("input[name=version]").value = result.body.version;
        show(form.dataset.msgSaved.replace("{time}", result.body.saved_at), false);
      } else {
        show(result.body.message, true);
        if (result.status === 409) stopped = true;  // another tab changed it: the person decides
      }
    }).catch(function () {
      show(form.dataset.msgOffline, true);
    }).then(function () {
      saving = false;
      if (held) { held = false; stopped = true; form.requestSubmit(heldSubmitter || undefined); }
      else if (again) { again = false; schedule(); }
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.type === "file") return;
    recount();
    schedule();
  });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") schedule();
  });
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    if (saving) {  // let the background save finish first, or this post would look stale
      event.preventDefault();
      held = true;
      heldSubmitter = event.submitter || null;
      return;
    }
    stopped = true;
  });
})();
