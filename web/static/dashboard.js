// Small progressive enhancements; every page works without JavaScript.
(function () {
  // Filter forms: drop empty fields so shared links stay short.
  document.querySelectorAll("form[data-compact]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (!field.value) { field.disabled = true; }
      });
    });
  });
  // After a correction, the page comes back at the message: move focus there too.
  if (location.hash && /^#m\d+$/.test(location.hash)) {
    var target = document.getElementById(location.hash.slice(1));
    if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }
  }
})();
