// The agent's desk in the browser (loaded by desk/desk.html after app.js). The desk works without it; this adds:
//   - unread counts in the tab title, a short sound and a desktop notification for a new chat or customer message
//     (compared each time the live chat list is redrawn: <li data-chat-id data-unread data-customer-name>);
//   - the read marker: the chat on screen, while the tab is visible, tells the server how many customer
//     messages it shows (<div data-seen-url> around <ol data-customer-messages>);
//   - replies sent without reloading (Enter sends, Shift+Enter a new line) and retries of failed messages.
// Texts come translated from the page (data-* attributes); codes never reach the user.
(function () {
  "use strict";

  const NOTIFICATIONS_ASKED = "despacho.notifications.asked";
  const BASE_TITLE = document.title;

  // ---- Sound: a short two-tone chime from WebAudio, unlocked by the agent's first click or key ----

  let audio = null;
  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
  }

  function chime() {
    if (!audio) return;
    const start = audio.currentTime;
    [880, 1320].forEach((frequency, index) => {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      const at = start + index * 0.12;
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.2);
    });
  }

  // ---- Desktop notifications: permission asked once, from the agent's click ----

  function notificationsSupported() {
    return "Notification" in window;
  }

  function showEnableButton(button) {
    const undecided = notificationsSupported() && Notification.permission === "default";
    button.hidden = !undecided || window.localStorage.getItem(NOTIFICATIONS_ASKED) === "1";
  }

  function wireNotificationButton() {
    const button = document.querySelector("[data-enable-notifications]");
    if (!button) return;
    showEnableButton(button);
    button.addEventListener("click", () => {
      window.localStorage.setItem(NOTIFICATIONS_ASKED, "1");
      Promise.resolve(Notification.requestPermission()).finally(() => showEnableButton(button));
    });
  }

  function notify(title, body, chatId) {
    chime();
    if (!notificationsSupported() || Notification.permission !== "granted") return;
    try {
      const notice = new Notification(title, { body: body, tag: "despacho-chat-" + chatId });
      notice.onclick = () => {
        window.focus();
        window.location.assign("/desk?chat=" + encodeURIComponent(chatId));
      };
    } catch (error) {
      // Some browsers only notify from a service worker; the sound and the title still tell the agent.
    }
  }

  // ---- The chat list: unread counts, title, what changed since the last drawing ----

  function chatsIn(list) {
    const chats = new Map();
    list.querySelectorAll("li[data-chat-id]").forEach((item) => {
      chats.set(item.dataset.chatId, { unread: Number(item.dataset.unread) || 0, name: item.dataset.customerName || "" });
    });
    return chats;
  }

  function showUnreadInTitle(chats) {
    let total = 0;
    chats.forEach((chat) => { total += chat.unread; });
    document.title = total > 0 ? "(" + total + ") " + BASE_TITLE : BASE_TITLE;
  }

  function onScreen(chatId, list) {
    return chatId === list.dataset.selectedChat && document.visibilityState === "visible";
  }

  function announceChanges(before, after, list) {
    const notices = document.querySelector("[data-desk-notices]");
    if (!notices) return;
    after.forEach((chat, chatId) => {
      const previous = before.get(chatId);
      if (!previous) {
        notify(notices.dataset.newChat, chat.name, chatId);
      } else if (chat.unread > previous.unread && !onScreen(chatId, list)) {
        notify(notices.dataset.newMessage, chat.name, chatId);
      }
    });
  }

  function followChatList() {
    const list = document.querySelector("[data-desk-chats]");
    if (!list) return;
    let known = chatsIn(list);
    let focusedId = "";
    showUnreadInTitle(known);
    list.addEventListener("focusin", (event) => { focusedId = event.target.id || ""; });
    list.addEventListener("focusout", (event) => {
      // Focus leaving for elsewhere forgets the chat; a redraw removing the focused link does not.
      const left = event.target;
      setTimeout(() => { if (left.isConnected) focusedId = ""; }, 0);
    });
    list.addEventListener("despacho:updated", () => {
      const now = chatsIn(list);
      announceChanges(known, now, list);
      known = now;
      showUnreadInTitle(now);
      // Redrawing the list drops the keyboard focus: give it back to the same chat.
      const again = focusedId && document.getElementById(focusedId);
      if (again && (document.activeElement === document.body || document.activeElement === null)) again.focus();
    });
  }

  // ---- The read marker of the chat on screen ----

  function markSeen(scroll, state) {
    const timeline = scroll.querySelector("[data-customer-messages]");
    if (!timeline || document.visibilityState !== "visible") return;
    const shown = Number(timeline.dataset.customerMessages) || 0;
    if (shown <= state.sent) return;
    state.sent = shown;
    window.Despacho.fetch(scroll.dataset.seenUrl, {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ customer_messages: shown }),
    }).catch(() => { state.sent = 0; });  // offline: the next drawing or visit tries again
  }

  function followReading() {
    const scroll = document.querySelector("[data-seen-url]");
    if (!scroll) return;
    const state = { sent: 0 };
    markSeen(scroll, state);
    scroll.addEventListener("despacho:updated", () => markSeen(scroll, state));
    document.addEventListener("visibilitychange", () => markSeen(scroll, state));
  }

  // ---- Replying without reloading ----

  function showError(form, message) {
    const box = form.querySelector(".reply-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  function errorText(response) {
    return response.json().then((data) => (typeof data.detail === "string" ? data.detail : ""), () => "");
  }

  // The reply shows at once, marked pending, until the live timeline redraws it with its delivery status.
  function showPending(form, text) {
    const timeline = document.querySelector(".timeline-scroll");
    if (!timeline) return;
    let list = timeline.querySelector("ol.timeline");
    if (!list) {
      timeline.replaceChildren();
      list = document.createElement("ol");
      list.className = "timeline";
      timeline.appendChild(list);
    }
    const item = document.createElement("li");
    item.className = "message message-agent";
    item.dataset.author = "agent";
    item.dataset.pending = "true";
    const meta = document.createElement("div");
    meta.className = "message-meta";
    const author = document.createElement("strong");
    author.textContent = form.dataset.authorLabel || "";
    meta.appendChild(author);
    const body = document.createElement("p");
    body.className = "message-body";
    body.textContent = text;
    const status = document.createElement("p");
    status.className = "message-delivery";
    status.dataset.delivery = "requested";
    const badge = document.createElement("span");
    badge.className = "badge badge-neutral";
    badge.textContent = form.dataset.pendingLabel || "";
    status.appendChild(badge);
    item.append(meta, body, status);
    list.appendChild(item);
    timeline.scrollTop = timeline.scrollHeight;
  }

  function sendReply(form) {
    const field = form.querySelector("textarea[name=body]");
    const button = form.querySelector("button[type=submit]");
    const text = field.value.trim();
    if (!text || form.dataset.sending === "true") return;
    form.dataset.sending = "true";
    button.disabled = true;
    showError(form, "");
    window.Despacho.fetch(form.dataset.replyUrl, {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ body: text }),
    }).then((response) => {
      if (response.status === 201) {
        field.value = "";
        showPending(form, text);
        return null;
      }
      return errorText(response).then((message) => showError(form, message || String(response.status)));
    }).catch(() => {
      form.dataset.sending = "false";
      form.submit();  // no answer from fetch: fall back to the plain form, which reports the outcome
    }).finally(() => {
      form.dataset.sending = "false";
      button.disabled = false;
      field.focus();
    });
  }

  function wireReplies() {
    const form = document.querySelector("form.reply-form[data-reply-url]");
    if (!form) return;
    const field = form.querySelector("textarea[name=body]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendReply(form);
    });
    field.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.altKey || event.ctrlKey
          || event.metaKey) return;
      event.preventDefault();
      sendReply(form);
    });
  }

  // A failed message's retry: once, however often it is clicked; the live timeline then shows the new message.
  function wireRetries() {
    document.addEventListener("submit", (event) => {
      const form = event.target.closest ? event.target.closest("form.retry-form[data-retry-url]") : null;
      if (!form) return;
      event.preventDefault();
      const button = form.querySelector("button");
      if (button.disabled) return;
      button.disabled = true;
      window.Despacho.fetch(form.dataset.retryUrl, { method: "POST", headers: { Accept: "application/json" } })
        .then((response) => (response.status === 201 ? null : errorText(response).then((message) => {
          const note = document.createElement("small");
          note.className = "retry-error";
          note.setAttribute("role", "alert");
          note.textContent = message;
          form.appendChild(note);
        })))
        .catch(() => { button.disabled = false; });
    });
  }

  function start() {
    document.addEventListener("pointerdown", unlockAudio);
    document.addEventListener("keydown", unlockAudio);
    wireNotificationButton();
    followChatList();
    followReading();
    wireReplies();
    wireRetries();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
