// Despacho's browser code. Pages work without it; it keeps them fresh and adds small conveniences.
//
// Live updates (server-sent events):
//   <body data-live-topics="queue:CAMPAIGN_ID desk:AGENT_ID">   topics this page listens to
//   <section data-live-topic="queue:CAMPAIGN_ID" data-live-src="/fragments/queue/CAMPAIGN_ID">
//     An element re-fetches its data-live-src and replaces its content when one of its topics
//     (space-separated) changes. Topics are also collected from data-live-topic attributes.
//   The page opens EventSource("/live?topics=<space-separated topics>"); the server sends
//   `event: <topic>` with `data: {"topic": "...", "version": N}`. After a refreshed element is
//   swapped in, it receives a bubbling "despacho:updated" event.
//
// Writes from JavaScript: Despacho.fetch(url, {method: "POST", ...}) adds the X-CSRF-Token header
// from <meta name="csrf-token"> and sends the session cookie.
(function () {
  "use strict";

  const RECONNECT_MIN_MS = 1000;
  const RECONNECT_MAX_MS = 30000;
  const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  // The session ended (expired, terminated, replaced): the tab goes to the login page once, whichever request
  // noticed first, so a heartbeat and a live refresh finding it together do not abort each other's navigation.
  let leavingForLogin = false;
  function backToLogin() {
    if (leavingForLogin) return;
    leavingForLogin = true;
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
  }

  function despachoFetch(url, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    const headers = new Headers(init.headers || {});
    const method = (init.method || "GET").toUpperCase();
    if (!SAFE_METHODS.includes(method) && !headers.has("X-CSRF-Token")) {
      headers.set("X-CSRF-Token", csrfToken());
    }
    init.headers = headers;
    return window.fetch(url, init);
  }

  function splitTopics(value) {
    return (value || "").split(/\s+/).filter(Boolean);
  }

  function pageTopics() {
    const topics = new Set();
    document.querySelectorAll("[data-live-topics]").forEach((el) => {
      splitTopics(el.dataset.liveTopics).forEach((topic) => topics.add(topic));
    });
    document.querySelectorAll("[data-live-topic]").forEach((el) => {
      splitTopics(el.dataset.liveTopic).forEach((topic) => topics.add(topic));
    });
    return Array.from(topics);
  }

  // "queue:*" follows every queue topic. Named SSE events only reach listeners of that exact name,
  // so the server should send wildcard matches as unnamed events (payload.topic says which).
  function topicMatches(subscribed, topic) {
    return subscribed === topic || (subscribed.endsWith(":*") && topic.startsWith(subscribed.slice(0, -1)));
  }

  function subscribersOf(topic) {
    return Array.from(document.querySelectorAll("[data-live-topic][data-live-src]")).filter(
      (el) => topic === null || splitTopics(el.dataset.liveTopic).some((subscribed) => topicMatches(subscribed, topic))
    );
  }

  // ---- Refreshing one element: one request at a time, never while the user types in it ----

  const refreshState = new WeakMap();

  function stateOf(el) {
    if (!refreshState.has(el)) refreshState.set(el, { loading: false, pending: false, deferred: false });
    return refreshState.get(el);
  }

  function isBeingEdited(el) {
    const active = document.activeElement;
    return Boolean(active && el.contains(active) && active.matches("input, textarea, select, [contenteditable]"));
  }

  // A panel the user opened (a chat's reassign form in a list) stays open when the list is drawn again.
  function panelKey(details) {
    return details.id || (details.dataset.chatId ? "chat:" + details.dataset.chatId : "");
  }

  function openPanels(el) {
    return Array.from(el.querySelectorAll("details[open]")).map(panelKey).filter(Boolean);
  }

  function reopenPanels(el, keys) {
    if (!keys.length) return;
    el.querySelectorAll("details").forEach((details) => {
      if (keys.includes(panelKey(details))) details.open = true;
    });
  }

  function refresh(el) {
    const state = stateOf(el);
    if (state.loading) {
      state.pending = true;
      return;
    }
    if (isBeingEdited(el)) {
      if (!state.deferred) {
        state.deferred = true;
        el.addEventListener("focusout", () => {
          // Let focus settle: it may have moved to another field inside the same element.
          setTimeout(() => {
            state.deferred = false;
            refresh(el);
          }, 0);
        }, { once: true });
      }
      return;
    }
    state.loading = true;
    despachoFetch(el.dataset.liveSrc, { headers: { Accept: "text/html", "X-Requested-With": "fetch" } })
      .then((response) => {
        if (response.status === 401 || (response.redirected && new URL(response.url).pathname === "/login")) {
          backToLogin();
          return null;
        }
        if (!response.ok) throw new Error("live fragment answered " + response.status);
        return response.text();
      })
      .then((html) => {
        if (html === null) return;
        const open = openPanels(el);
        el.innerHTML = html;
        reopenPanels(el, open);
        el.dispatchEvent(new CustomEvent("despacho:updated", { bubbles: true }));
      })
      .catch(() => {
        // Keep what is on screen; the next event or reconnection fetches again.
      })
      .finally(() => {
        state.loading = false;
        if (state.pending) {
          state.pending = false;
          refresh(el);
        }
      });
  }

  // ---- The event stream ----

  class LiveConnection {
    constructor(topics, indicator) {
      this.topics = topics;
      this.indicator = indicator;
      this.versions = new Map();
      this.delay = RECONNECT_MIN_MS;
      this.source = null;
      this.timer = null;
      this.hasConnectedBefore = false;
      this.stopped = false;
    }

    connect() {
      if (this.stopped) return;
      const source = new EventSource("/live?topics=" + encodeURIComponent(this.topics.join(" ")));
      this.source = source;
      this.topics.forEach((topic) => source.addEventListener(topic, (event) => this.receive(topic, event)));
      source.addEventListener("message", (event) => this.receive(null, event));
      source.onopen = () => this.opened();
      source.onerror = () => this.failed();
    }

    opened() {
      this.delay = RECONNECT_MIN_MS;
      this.showOffline(false);
      // Events sent before this connection (between rendering the page and now, or while we were
      // away) are lost: bring every live element up to date once, and after a reconnection accept
      // any version (the server may have restarted its counters).
      if (this.hasConnectedBefore) this.versions.clear();
      subscribersOf(null).forEach(refresh);
      this.hasConnectedBefore = true;
    }

    failed() {
      // EventSource retries on its own at a fixed pace; we retry with backoff instead.
      if (this.source) this.source.close();
      this.source = null;
      if (this.stopped) return;
      this.showOffline(true);
      clearTimeout(this.timer);
      const jitter = Math.random() * this.delay * 0.2;
      this.timer = setTimeout(() => this.connect(), this.delay + jitter);
      this.delay = Math.min(this.delay * 2, RECONNECT_MAX_MS);
    }

    receive(eventName, event) {
      let payload = {};
      try {
        payload = JSON.parse(event.data || "{}");
      } catch (error) {
        payload = {};
      }
      const topic = payload.topic || eventName;
      if (!topic) return;
      const version = Number(payload.version);
      if (Number.isFinite(version)) {
        if (version <= (this.versions.get(topic) ?? -Infinity)) return; // duplicate or out of date
        this.versions.set(topic, version);
      }
      subscribersOf(topic).forEach(refresh);
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.source) this.source.close();
    }

    showOffline(offline) {
      if (this.indicator) this.indicator.hidden = !offline;
    }
  }

  function startLiveUpdates() {
    const topics = pageTopics();
    if (topics.length === 0 || !("EventSource" in window)) return;
    const connection = new LiveConnection(topics, document.getElementById("live-status"));
    // Leaving the page closes the stream, so the offline badge does not flash on navigation.
    window.addEventListener("pagehide", () => connection.stop());
    connection.connect();
  }

  // ---- Small conveniences ----

  function closeOpenMenus(except) {
    document.querySelectorAll("details.user-menu[open]").forEach((menu) => {
      if (menu !== except) menu.open = false;
    });
  }

  function wireConveniences() {
    document.addEventListener("click", (event) => {
      const dismiss = event.target.closest("[data-dismiss=flash]");
      if (dismiss) dismiss.closest(".flash").remove();
      closeOpenMenus(event.target.closest("details.user-menu"));
    });
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const menu = document.querySelector("details.user-menu[open]");
      if (menu) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    // <form data-confirm="¿Cerrar este chat?"> asks before submitting (text comes translated from the server).
    document.addEventListener("submit", (event) => {
      const message = event.target.dataset ? event.target.dataset.confirm : undefined;
      if (message && !window.confirm(message)) event.preventDefault();
    });
  }

  // <div data-live-src="…" data-poll-seconds="2"> also refreshes on a timer (pages with no topic to
  // follow, like the customer simulator, or waiting times that grow by themselves).
  function startPolling() {
    document.querySelectorAll("[data-poll-seconds][data-live-src]").forEach((el) => {
      const seconds = Math.max(Number(el.dataset.pollSeconds) || 0, 1);
      setInterval(() => {
        if (!document.hidden) refresh(el);
      }, seconds * 1000);
    });
  }

  // Conversations open at their latest message, and stay there when new ones arrive.
  function scrollConversations(root) {
    root.querySelectorAll(".timeline-scroll").forEach((el) => {
      el.scrollTop = el.scrollHeight;
    });
  }

  // A region that scrolls (a long conversation, a wide table) takes the keyboard focus, so the arrow keys scroll it
  // without a mouse; one that fits stays out of the Tab order.
  const SCROLL_REGIONS = ".timeline-scroll, .table-wrap";
  function focusableScrollRegions(root) {
    const regions = Array.from(root.querySelectorAll(SCROLL_REGIONS));
    if (root.matches && root.matches(SCROLL_REGIONS)) regions.push(root);
    regions.forEach((el) => {
      const scrolls = el.scrollHeight > el.clientHeight || el.scrollWidth > el.clientWidth;
      if (scrolls && !el.hasAttribute("tabindex")) el.tabIndex = 0;
    });
  }

  // While a signed-in tab is open it tells the server once a minute (<body data-heartbeat-seconds>), so the
  // session expires only when every tab was closed for the idle limit; once the session is closed
  // (expired, terminated, replaced on another device) the tab goes back to the login page.
  function startHeartbeat() {
    const seconds = Number(document.body.dataset.heartbeatSeconds) || 0;
    if (seconds <= 0) return;
    const beat = () => {
      despachoFetch("/api/sessions/heartbeat", { method: "POST", headers: { Accept: "application/json" } })
        .then((response) => {
          if (response.status === 401) backToLogin();
        })
        .catch(() => {});  // offline for a moment: the next beat tries again
    };
    window.Despacho.heartbeat = beat;
    setInterval(beat, seconds * 1000);
  }

  // ---- Canned replies: "/" in the composer opens the campaign's list (desk/_canned_replies.html) ----
  //   Typing filters it by name; ↑/↓ choose, Enter (or Tab) inserts the reply filled for this customer in place of
  //   "/word", Esc closes; a click inserts too. A reply missing portfolio data keeps its {variable} and says so.

  const SLASH_QUERY = /(^|\s)\/([^\s/]*)$/;

  function folded(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function wireCannedReplies() {
    const panel = document.querySelector("[data-canned-for]");
    const textarea = panel && document.getElementById(panel.dataset.cannedFor);
    if (!textarea) return;
    const list = panel.querySelector("[role=listbox]");
    const options = Array.from(list.querySelectorAll("[role=option]"));
    const none = panel.querySelector("[data-canned-none]");
    const warning = document.getElementById("canned-missing");
    let active = -1;
    let missing = [];
    textarea.setAttribute("aria-controls", list.id);
    textarea.setAttribute("aria-autocomplete", "list");
    // A textarea keeps its textbox role, which has no aria-expanded: it says it has a list, the list says the rest.
    textarea.setAttribute("aria-haspopup", "listbox");

    const shown = () => options.filter((option) => !option.hidden);
    const query = () => SLASH_QUERY.exec(textarea.value.slice(0, textarea.selectionStart));

    function highlight(index) {
      const visible = shown();
      active = visible.length ? (index + visible.length) % visible.length : -1;
      options.forEach((option) => option.setAttribute("aria-selected", "false"));
      if (active < 0) {
        textarea.removeAttribute("aria-activedescendant");
        return;
      }
      visible[active].setAttribute("aria-selected", "true");
      visible[active].scrollIntoView({ block: "nearest" });
      textarea.setAttribute("aria-activedescendant", visible[active].id);
    }

    function close() {
      panel.hidden = true;
      textarea.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open(words) {
      const wanted = folded(words);
      options.forEach((option) => { option.hidden = !folded(option.dataset.title).includes(wanted); });
      none.hidden = shown().length > 0;
      panel.hidden = false;
      highlight(0);
    }

    function showMissing() {
      missing = missing.filter((name) => textarea.value.includes("{" + name + "}"));
      warning.hidden = missing.length === 0;
    }

    function insert(option) {
      const found = query();
      const end = textarea.selectionStart;
      const start = found ? end - found[2].length - 1 : end;
      const text = option.dataset.text;
      textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + text.length;
      missing = (option.dataset.missing || "").split(" ").filter(Boolean);
      warning.textContent = option.dataset.missingMessage || "";
      showMissing();
      close();
      textarea.focus();
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    textarea.addEventListener("input", () => {
      const found = query();
      if (found) open(found[2]);
      else close();
      showMissing();
    });
    textarea.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== textarea) close();
    }, 150));
    options.forEach((option) => option.addEventListener("mousedown", (event) => {
      event.preventDefault();  // keep the focus in the composer
      insert(option);
    }));
    // In the capture phase, so while the list is open its keys never reach the composer's own handlers (Enter sends).
    document.addEventListener("keydown", (event) => {
      if (event.target !== textarea || panel.hidden) return;
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) {
        highlight(active + moves[event.key]);
      } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
        const chosen = shown()[active];
        if (!chosen) return;
        insert(chosen);
      } else if (event.key === "Escape") {
        close();
      } else {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
    }, true);
  }

  window.Despacho = { fetch: despachoFetch, csrfToken: csrfToken, refresh: refresh };

  function start() {
    wireConveniences();
    startLiveUpdates();
    startPolling();
    startHeartbeat();
    wireCannedReplies();
    scrollConversations(document);
    focusableScrollRegions(document);
    document.addEventListener("despacho:updated", (event) => {
      focusableScrollRegions(event.target);
      if (event.target.classList && event.target.classList.contains("timeline-scroll")) {
        event.target.scrollTop = event.target.scrollHeight;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
