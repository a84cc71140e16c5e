// Starts Swagger UI on the docs page (shared/api_docs.py). A file, not an inline script, so the
// page runs under a CSP that allows scripts only from 'self'; its settings come from the JSON block.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hamp-docs-config").textContent);
  var documents = config.documents;
  var select = document.getElementById("hamp-docs-select");
  // ?doc=<a document's URL> opens that one, so a link can point at one module's API.
  var wanted = new URLSearchParams(window.location.search).get("doc");
  var first = documents.find(function (d) { return d.url === wanted; }) || documents[0];

  var ui = SwaggerUIBundle({
    url: first.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator is a badge fetched from swagger.io: another host, so none.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
  window.ui = ui;

  // Our own drop-down rather than Swagger UI's top bar: that comes in a file the package
  // does not ship, and this one is labelled in Chinese first.
  if (documents.length > 1) {
    documents.forEach(function (d) {
      var option = document.createElement("option");
      option.value = d.url;
      option.textContent = d.name;
      option.selected = d === first;
      select.appendChild(option);
    });
    select.hidden = false;
    select.addEventListener("change", function () {
      ui.specActions.updateUrl(select.value);
      ui.specActions.download(select.value);
      var address = new URL(window.location.href);
      address.searchParams.set("doc", select.value);
      window.history.replaceState(null, "", address.pathname + address.search);
    });
  }
})();
