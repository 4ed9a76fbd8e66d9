// Shows an error that stopped the page from starting, instead of leaving the window blank
// (loaded before the app's bundle; a classic script, so it runs even if the bundle cannot).
(function () {
  function show(text) {
    var box = document.getElementById("fatal");
    if (!box) {
      box = document.createElement("pre");
      box.id = "fatal";
      box.setAttribute("role", "alert");
      box.style.cssText = "margin:16px;padding:12px;background:#fdecea;color:#b3261e;white-space:pre-wrap";
      document.body.prepend(box);
    }
    box.textContent += text + "\n";
  }
  window.addEventListener("error", function (e) {
    show("Error: " + e.message + " (" + e.filename + ":" + e.lineno + ")");
  });
  window.addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    show("Unhandled: " + (r && r.message ? r.message : JSON.stringify(r)));
  });
})();
