"use strict";
// Login page: the failure message, a show-password switch (a 16-character random password is
// hard to type blind on a phone) and the page to return to after logging in (`next`).
(() => {
  const query = new URLSearchParams(location.search);
  if (query.has("failed")) document.getElementById("failed").hidden = false;
  // The lock-out page comes from the server with the wait in seconds: say it in the page's language.
  const blocked = document.getElementById("blocked");
  if (blocked.dataset.retryAfterS) blocked.textContent = I18N.t("login.blocked_for", { seconds: blocked.dataset.retryAfterS });
  const password = document.getElementById("password");
  document.getElementById("show-password").addEventListener("change", (event) => {
    password.type = event.target.checked ? "text" : "password";
  });
  const next = query.get("next");
  // Same-origin paths only ("/calibration", not "//evil.example" or "https://..."); the server checks again.
  if (next && /^\/(?![/\\])/.test(next)) {
    const form = document.querySelector("form");
    form.action = `/login?next=${encodeURIComponent(next)}`;
  }
})();
