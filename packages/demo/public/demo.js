// Starts the SDK with the configuration the Tracklane server writes into config.js
// (window.TRACKLANE_CONFIG = { writeKey, host, ... }). Query parameters override it, so the pages also work
// from any static server: index.html?writeKey=wk_...&host=http://localhost:8080&consent=pending
(() => {
  var config = Object.assign({}, window.TRACKLANE_CONFIG || {});
  var query = new URLSearchParams(location.search);
  ['writeKey', 'host', 'consent', 'persistence'].forEach((k) => {
    if (query.get(k)) config[k] = query.get(k);
  });
  if (!window.tracklane) return;
  if (!config.writeKey) {
    document.addEventListener('DOMContentLoaded', () => {
      document.body.insertAdjacentHTML(
        'afterbegin',
        '<p id="notice">No write key: start the server with <code>tracklane start --demo</code> or add <code>?writeKey=...</code> to the URL.</p>',
      );
    });
    return;
  }
  config.debug = true;
  tracklane.init(config);
  document.addEventListener('DOMContentLoaded', () => {
    var banner = document.getElementById('consent');
    if (!banner || config.consent !== 'pending') return;
    banner.hidden = false;
    document.getElementById('consent-accept').addEventListener('click', () => {
      tracklane.setConsent('granted');
      banner.hidden = true;
    });
    document.getElementById('consent-decline').addEventListener('click', () => {
      tracklane.setConsent('denied');
      banner.hidden = true;
    });
  });
})();
