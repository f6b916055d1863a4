"use strict";
// Page language: French or English, from the switch (remembered in localStorage), else the
// browser's languages, else English. Strings come from STRINGS (strings.js) by key; nothing is
// built on a server, nothing fetched from elsewhere. Markup:
//   data-i18n="key"                 the element's text
//   data-i18n-html="key"            the element's content, for dictionary strings holding <strong>
//   data-i18n-attr="title:key;..."  attributes
//   translate="no"                  device data (ids, names, versions): shown as they are
// `window.I18N_PSEUDO` (set by the page tests) wraps every translation in ⟦ ⟧, so a test can find
// any text on a page that did not come from the dictionaries.
const I18N = (() => {
  const STORE_KEY = "footfall-lang";
  const LANGUAGES = ["en", "fr"];
  // Locales for dates and numbers: 24-hour clock and day/month order in both.
  const LOCALES = { en: "en-GB", fr: "fr-FR" };
  const missing = new Set(); // keys asked for but absent from this language (read by the tests)

  function remembered() {
    try { return localStorage.getItem(STORE_KEY); } catch (error) { return null; }
  }

  function choose() {
    const chosen = remembered();
    if (LANGUAGES.includes(chosen)) return chosen;
    for (const tag of navigator.languages || [navigator.language || ""]) {
      const base = String(tag).toLowerCase().split("-")[0];
      if (LANGUAGES.includes(base)) return base;
    }
    return "en";
  }

  const lang = choose();
  const locale = LOCALES[lang];
  const strings = STRINGS[lang];

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  function t(key, values = {}) {
    let template = strings[key];
    if (template === undefined) {
      missing.add(key);
      template = STRINGS.en[key] === undefined ? key : STRINGS.en[key];
    }
    const text = fill(template, values);
    return window.I18N_PSEUDO ? `⟦${text}⟧` : text;
  }

  function plural(key, n, values = {}) {
    // French uses the singular for 0 and 1, English for 1 only.
    const one = lang === "fr" ? Math.abs(n) < 2 : n === 1;
    return t(`${key}.${one ? "one" : "other"}`, { n, ...values });
  }

  function number(value, digits = 1) {
    return value.toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function time(date, seconds = false) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (seconds) options.second = "2-digit";
    return new Date(date).toLocaleTimeString(locale, options);
  }

  function date(value) {
    return new Date(value).toLocaleDateString(locale);
  }

  function apply(root = document) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-html]")) node.innerHTML = t(node.dataset.i18nHtml);
    for (const node of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of node.dataset.i18nAttr.split(";")) {
        const [attribute, key] = pair.split(":");
        node.setAttribute(attribute.trim(), t(key.trim()));
      }
    }
  }

  function choose_(next) {
    try { localStorage.setItem(STORE_KEY, next); } catch (error) { /* private mode: this page only */ }
    location.reload();
  }

  function addSwitch() {
    // One button naming the other language in that language, so a reader of either finds it.
    const nav = document.querySelector("header nav") || document.querySelector("[data-lang-switch]");
    if (!nav) return;
    const other = lang === "fr" ? "en" : "fr";
    const button = document.createElement("button");
    button.type = "button";
    button.id = "lang";
    button.lang = other;
    button.className = "lang";
    button.textContent = t(`lang.switch.${other}`);
    button.setAttribute("aria-label", t(`lang.switch.${other}.label`));
    button.addEventListener("click", () => choose_(other));
    nav.appendChild(button);
  }

  document.documentElement.lang = lang;
  apply();
  addSwitch();
  return { lang, locale, t, plural, number, time, date, apply, missing };
})();
const t = I18N.t;
