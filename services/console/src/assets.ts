/** The console's only stylesheet: light and dark from prefers-color-scheme, one column under 600 px. */
export const CSS = `
:root { color-scheme: light dark; --bg: #fafafa; --fg: #1b1b1f; --muted: #5f6368; --line: #d9d9de; --card: #fff;
  --accent: #2454d6; --crit: #b3261e; --warn: #9a6700; --ok: #1a7f37; --info: #3b5bdb; }
@media (prefers-color-scheme: dark) { :root { --bg: #141417; --fg: #e6e6ea; --muted: #a0a0a8; --line: #34343a; --card: #1d1d22;
  --accent: #8fb0ff; --crit: #ff8a80; --warn: #f0c060; --ok: #6fdc8c; --info: #9fb4ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; }
nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; }
nav a, a { color: var(--accent); }
nav a[aria-current=page] { font-weight: 600; text-decoration: none; color: var(--fg); }
header .who { margin-left: auto; display: flex; gap: .5rem; align-items: center; color: var(--muted); }
main { padding: 1rem; max-width: 70rem; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
td.about, td pre { overflow-wrap: anywhere; }
table.loops td:first-child { white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; }
.card b { font-size: 1.5rem; display: block; }
.sev-critical, .sev-high, .state-down { color: var(--crit); } .sev-medium, .state-degraded { color: var(--warn); }
.sev-low, .sev-info { color: var(--info); } .state-up { color: var(--ok); }
.status { font-weight: 600; }
.banner { border: 1px solid var(--warn); padding: .5rem .75rem; border-radius: 6px; margin-bottom: 1rem; }
.error { border-color: var(--crit); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--card); border: 1px solid var(--line); padding: .6rem; border-radius: 6px; }
form.inline { display: inline-flex; gap: .4rem; align-items: center; margin: 0 .5rem .5rem 0; }
button, select, input { font: inherit; padding: .45rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); min-height: 2.5rem; }
button { cursor: pointer; border-color: var(--accent); }
input, select { max-width: 100%; }
button:focus-visible, a:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: 1rem; }
.login { max-width: 22rem; margin: 3rem auto; display: grid; gap: .6rem; }
.muted { color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; } dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 600px) { .wide { display: none; } main { padding: .75rem; } table { display: block; overflow-x: auto; }
  .filters label { display: flex; flex-direction: column; flex: 1 1 40%; } .filters input { width: 100%; } dl { grid-template-columns: 1fr; } dt { font-weight: 600; } }
`;

/**
 * Live updates: on a loop event from /api/events, the page's #content is fetched again and
 * swapped (the loop page only for its own loop); on a service event, the pages that show services;
 * on a delivery outcome, the Notifications page; on a resync (events may have been missed while
 * the page was disconnected), any page. EventSource reconnects with Last-Event-ID itself.
 */
export const CLIENT_JS = `(() => {
  const content = () => document.getElementById("content");
  if (!content() || !window.EventSource) return;
  const live = document.getElementById("live");
  let timer;
  // A form being filled in is never swapped away: not while it has the focus, nor while a field
  // differs from what the page was served with (checked again once the fresh copy has arrived,
  // since typing may have started while it was being fetched).
  const editing = () => {
    const a = document.activeElement;
    if (a && a.closest && a.closest("#content form")) return true;
    return Array.from(document.querySelectorAll("#content form input, #content form textarea, #content form select")).some((el) =>
      el.type === "hidden" ? false
      : el.tagName === "SELECT" ? Array.from(el.options).some((o) => o.selected !== o.defaultSelected)
      : el.type === "checkbox" || el.type === "radio" ? el.checked !== el.defaultChecked
      : el.value !== el.defaultValue);
  };
  const refresh = (wait = 200) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (editing()) { refresh(1000); return; }
      try {
        const r = await fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" });
        if (!r.ok || r.redirected) return;
        const next = new DOMParser().parseFromString(await r.text(), "text/html").getElementById("content");
        if (editing()) { refresh(1000); return; }
        const now = content();
        // A form's outcome (#notice, e.g. "backup added") stays until the page is left: the fresh
        // copy of the page does not have it, and a live event could otherwise wipe it at once.
        const notice = now && now.querySelector("#notice");
        if (next && notice && !next.querySelector("#notice")) {
          const h = next.querySelector("h1");
          if (h) h.after(notice); else next.prepend(notice);
        }
        if (next && now) now.replaceWith(next);
      } catch {}
    }, wait);
  };
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => { if (live) live.textContent = "live"; });
  es.addEventListener("error", () => { if (live) live.textContent = "reconnecting"; });
  es.addEventListener("loop", (ev) => {
    const e = JSON.parse(ev.data);
    const only = content().dataset.loop;
    if (!only || only === e.loopId) refresh();
  });
  es.addEventListener("service", () => {
    if (content().dataset.live === "services") refresh();
  });
  es.addEventListener("notify", () => {
    if (content().dataset.live === "notifications") refresh();
  });
  es.addEventListener("resync", () => refresh());
})();
`;
