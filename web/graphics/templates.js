// Templates live in /overlays/<name>/: template.json (what it is, which fields it uses, how long
// its animations last), template.html (one root element, fields marked with data-field) and
// style.css. Each is loaded once per page; a failed load is forgotten so the next take retries.

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const cache = new Map();

async function fetchOk(url, as) {
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return as === 'json' ? res.json() : res.text();
}

/** Resolves once the template's stylesheet is applied, so a graphic never flashes unstyled. */
function addStylesheet(href) {
  const existing = document.querySelector(`link[data-template-css="${href}"]`);
  if (existing) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    link.dataset.templateCss = href;
    link.onload = () => resolve();
    link.onerror = () => {
      link.remove();
      reject(new Error(`${href}: stylesheet did not load`));
    };
    document.head.append(link);
  });
}

async function fetchTemplate(name) {
  const base = `/overlays/${name}/`;
  const [meta, html] = await Promise.all([fetchOk(`${base}template.json`, 'json'), fetchOk(`${base}template.html`, 'text')]);
  await addStylesheet(`${base}style.css`);
  const holder = document.createElement('template');
  // Trusted markup: it comes from this server's overlays/ folder, never from match data (player
  // names and stats are only ever set with textContent).
  holder.innerHTML = html.trim();
  const root = holder.content.firstElementChild;
  if (!root) throw new Error(`${base}template.html has no element`);
  const durations = meta.durations ?? {};
  return {
    name,
    meta,
    inMs: Number(durations.inMs) || 600,
    outMs: Number(durations.outMs) || 400,
    /** A fresh copy of the template's root element. */
    instantiate: () => root.cloneNode(true),
  };
}

/** The template called `name` (a folder name under overlays/). */
export function loadTemplate(name) {
  if (!NAME.test(String(name))) return Promise.reject(new Error(`"${name}" is not a template name (lower-case letters, digits, - and _)`));
  let p = cache.get(name);
  if (!p) {
    p = fetchTemplate(name);
    cache.set(name, p);
    p.catch(() => cache.delete(name));
  }
  return p;
}
