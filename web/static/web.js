// The console's own script: upload progress for forms marked data-progress (htmx fires xhr:progress events).
document.addEventListener("htmx:xhr:progress", function (evt) {
  var form = evt.target.closest ? evt.target.closest("form[data-progress]") : null;
  if (!form || !evt.detail.lengthComputable) return;
  var bar = document.getElementById(form.getAttribute("data-progress"));
  if (bar) { bar.value = Math.round(evt.detail.loaded / evt.detail.total * 100); }
});
// After an htmx swap, move focus to the first alert or result so keyboard and screen-reader users hear it.
document.addEventListener("htmx:afterSwap", function (evt) {
  var target = evt.detail.target;
  var focusable = target && target.querySelector("[role=alert], [data-focus]");
  if (focusable) { focusable.setAttribute("tabindex", "-1"); focusable.focus(); }
});
// Kiosk forms (data-kiosk): the reading is cleared once it is sent, so a card reader can type the next one at
// once; after each answer the focus is back in the field.
document.addEventListener("htmx:beforeSend", function (evt) {
  var form = evt.target.closest ? evt.target.closest("form[data-kiosk]") : null;
  var input = form && form.querySelector("input[name=reading]");
  if (input) { input.value = ""; }
});
document.addEventListener("htmx:afterRequest", function (evt) {
  var form = evt.target.closest ? evt.target.closest("form[data-kiosk]") : null;
  var input = form && form.querySelector("input[name=reading]");
  if (input) { input.focus(); }
});
// A "select all" box (data-check-all="<form id>") ticks every trainee_id box of that form.
document.addEventListener("change", function (evt) {
  var box = evt.target;
  var id = box && box.getAttribute && box.getAttribute("data-check-all");
  if (!id) return;
  var form = document.getElementById(id);
  if (!form) return;
  form.querySelectorAll("input[type=checkbox][name=trainee_id]").forEach(function (b) { b.checked = box.checked; });
});
