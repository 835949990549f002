/* Autosave of a verification, as on the staff form: the page works without it (the buttons
   post the whole form). A save refused because another tab saved first (409) stops autosave
   and says so; what is on screen stays. */
(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  if (!form || form.dataset.readOnly === "true" || !window.fetch || !window.FormData) return;
  var statusLine = document.getElementById("autosave-status");
  var timer = null, saving = false, again = false, stopped = false;
  function show(text, isError) { statusLine.textContent = text; statusLine.classList.toggle("text-danger", !!isError); }
  function save() {
    if (stopped) return;
    if (saving) { again = true; return; }
    saving = true;
    var data = new FormData(form);
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
        if (result.status === 409) stopped = true;
      }
    }).catch(function () { show(form.dataset.msgOffline, true); })
      .then(function () { saving = false; if (again) { again = false; schedule(); } });
  }
  function schedule() { if (stopped) return; clearTimeout(timer); timer = setTimeout(save, 1200); }
  form.addEventListener("change", schedule);
  form.addEventListener("input", function (event) { if (event.target.tagName === "TEXTAREA") schedule(); });
})();
