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
