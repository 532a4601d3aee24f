// Starts Redoc from a file: the Content-Security-Policy allows no inline script.
"use strict";
(() => {
  // Redoc's styled-components add <style> elements, which this page's policy
  // lets through with its nonce only (helpdesk/docs.py): Redoc puts the nonce
  // we hand it on them. A script's nonce is readable only from the script.
  const nonce = document.currentScript.nonce;

  // Redoc's menu shows Redocly's logo from their CDN: a request to another
  // host, which the policy refuses (img-src). Never ask for it, whichever way
  // React sets the image's address.
  const elsewhere = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (!(name === "src" && elsewhere(value))) {
      setAttribute.call(this, name, value);
    }
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      if (!elsewhere(value)) {
        src.set.call(this, value);
      }
    },
  });

  const container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, { nonce }, container);
})();
