/*
 * unimeter connect.js: open the hosted Connect page in a popup and learn which account
 * your customer linked.
 *
 *   <script src="https://unimeter.example.com/connect.js"></script>
 *   <script>
 *     // connectUrl is the `url` returned by POST /link-tokens (made on your server).
 *     UnimeterConnect.open(connectUrl).then(
 *       function (integratedAccountId) { ... },   // linked
 *       function (error) { ... }                  // error.code: "closed" | "blocked" | "invalid_url"
 *     );
 *   </script>
 *
 * Call it from a click handler, or the browser may block the popup. The Connect page posts
 * the account id to this page's origin only, and this script accepts it only from the
 * Connect page's origin and from the popup it opened.
 */
(function (global) {
  "use strict";

  var MESSAGE_TYPE = "unimeter:connected";
  var CLOSED_POLL_MS = 300;

  function failure(code, message) {
    var error = new Error(message);
    error.code = code;
    return error;
  }

  function features(width, height) {
    var left = Math.max(0, (global.screenX || 0) + ((global.outerWidth || width) - width) / 2);
    var top = Math.max(0, (global.screenY || 0) + ((global.outerHeight || height) - height) / 2);
    return "popup=yes,width=" + width + ",height=" + height + ",left=" + left + ",top=" + top;
  }

  function open(connectUrl, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var url;
      try {
        url = new URL(connectUrl, global.location.href);
      } catch (e) {
        reject(failure("invalid_url", "not a Connect URL: " + connectUrl));
        return;
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        reject(failure("invalid_url", "not a Connect URL: " + connectUrl));
        return;
      }
      // Where the Connect page may post the result: this page's origin, nothing wider.
      url.searchParams.set("origin", global.location.origin);
      var popup = global.open(
        url.toString(), "unimeter-connect", features(options.width || 480, options.height || 640)
      );
      if (!popup) {
        reject(failure("blocked", "the browser blocked the Connect popup"));
        return;
      }
      var watcher = null;

      function stop() {
        global.removeEventListener("message", onMessage);
        global.clearInterval(watcher);
      }

      function onMessage(event) {
        if (event.origin !== url.origin || event.source !== popup) return;
        var data = event.data;
        if (!data || data.type !== MESSAGE_TYPE || typeof data.integrated_account_id !== "string") {
          return;
        }
        stop();
        popup.close();
        resolve(data.integrated_account_id);
      }

      global.addEventListener("message", onMessage);
      watcher = global.setInterval(function () {
        if (popup.closed) {
          stop();
          reject(failure("closed", "the Connect window was closed before an account was linked"));
        }
      }, CLOSED_POLL_MS);
    });
  }

  global.UnimeterConnect = { open: open };
})(window);
