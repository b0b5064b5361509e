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
        el.innerHTML = html;
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

  window.Despacho = { fetch: despachoFetch, csrfToken: csrfToken, refresh: refresh };

  function start() {
    wireConveniences();
    startLiveUpdates();
    startPolling();
    startHeartbeat();
    scrollConversations(document);
    document.addEventListener("despacho:updated", (event) => {
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
