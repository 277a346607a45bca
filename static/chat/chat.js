'use strict';

(() => {
  const STRINGS = {
    en: {
      connecting: 'Connecting…',
      open: 'Online',
      reconnecting: 'Reconnecting…',
      offline: 'Offline — messages will be sent when back',
      error: 'Something went wrong',
      you: 'You',
      failed: 'Not sent',
      sending: 'Sending…',
    },
    es: {
      connecting: 'Conectando…',
      open: 'En línea',
      reconnecting: 'Reconectando…',
      offline: 'Sin conexión — los mensajes se enviarán al volver',
      error: 'Algo salió mal',
      you: 'Tú',
      failed: 'No enviado',
      sending: 'Enviando…',
    },
  };
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const TYPING_TIMEOUT_MS = 30000;
  const ERROR_VISIBLE_MS = 8000;

  const root = document.getElementById('chat-app');
  const list = document.getElementById('messages');
  const form = document.getElementById('chat-form');
  const input = document.getElementById('chat-input');
  const statusEl = document.getElementById('chat-status');
  const typingEl = document.getElementById('chat-typing');
  const errorEl = document.getElementById('chat-error');

  const { botSlug, botName, wsPath, language } = root.dataset;
  const t = STRINGS[language] || STRINGS.en;
  const tokenKey = `charla.${botSlug}.token`;

  const bySeq = new Map();   // seq -> element, the single source of truth for dedupe
  const pending = new Map(); // client_id -> { text, el }, in send order (Map keeps insertion order)
  let lastSeq = 0;
  let conversation = null;
  let ws = null;
  let ready = false;         // true only after the "session" frame, so resume always precedes messages
  let attempt = 0;
  let reconnectTimer = null;
  let typingTimer = null;
  let errorTimer = null;

  const storage = {
    get() { try { return localStorage.getItem(tokenKey); } catch { return null; } },
    set(v) { try { localStorage.setItem(tokenKey, v); } catch { /* private mode: token lives for this page only */ } },
  };

  // crypto.randomUUID only exists in secure contexts; plain http on a LAN IP still has getRandomValues.
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function setState(state) {
    root.dataset.state = state;
    updateStatus();
  }

  function updateStatus() {
    const state = root.dataset.state;
    const offline = state !== 'open' && (pending.size > 0 || navigator.onLine === false);
    statusEl.textContent = offline && state === 'reconnecting' ? t.offline : t[state];
  }

  function showError(message) {
    errorEl.textContent = message ? `${t.error}: ${message}` : t.error;
    errorEl.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { errorEl.hidden = true; }, ERROR_VISIBLE_MS);
  }

  function setTyping(on) {
    typingEl.hidden = !on;
    clearTimeout(typingTimer);
    // A lost typing:false (e.g. dropped socket) must not leave the indicator up forever.
    if (on) typingTimer = setTimeout(() => { typingEl.hidden = true; }, TYPING_TIMEOUT_MS);
    if (on) scrollToBottom(true);
  }

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80;

  function scrollToBottom(force) {
    if (force || nearBottom()) list.scrollTop = list.scrollHeight;
  }

  function buildBubble(role, text) {
    const el = document.createElement('div');
    el.className = `msg msg--${role}`;
    el.dataset.role = role;
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = `${role === 'user' ? t.you : botName}: `;
    const bubble = document.createElement('p');
    bubble.className = 'msg__bubble';
    bubble.textContent = text;
    const meta = document.createElement('span');
    meta.className = 'msg__meta';
    el.append(who, bubble, meta);
    return el;
  }

  function setMeta(el, text) {
    el.querySelector('.msg__meta').textContent = text || '';
  }

  function setStatus(el, status) {
    el.dataset.status = status;
    setMeta(el, status === 'failed' ? t.failed : status === 'pending' ? t.sending : '');
  }

  // Keep the DOM ordered by seq; bubbles still waiting for a seq stay at the end.
  function place(el, seq) {
    el.dataset.seq = String(seq);
    bySeq.set(seq, el);
    lastSeq = Math.max(lastSeq, seq);
    const next = [...list.children].find((c) => c !== el && (!c.dataset.seq || Number(c.dataset.seq) > seq));
    list.insertBefore(el, next || null);
  }

  function settle(clientId, seq) {
    const entry = pending.get(clientId);
    if (!entry) return false;
    pending.delete(clientId);
    if (bySeq.has(seq)) {
      entry.el.remove();
    } else {
      setStatus(entry.el, 'sent');
      place(entry.el, seq);
    }
    updateStatus();
    return true;
  }

  function onMessage(msg) {
    const seq = Number(msg.seq);
    if (!Number.isFinite(seq) || bySeq.has(seq)) return;
    if (msg.role === 'bot') setTyping(false);
    const stick = nearBottom();
    if (msg.role === 'user' && msg.client_id && settle(msg.client_id, seq)) return;
    const role = msg.role === 'user' ? 'user' : 'bot';
    const el = buildBubble(role, String(msg.text ?? ''));
    if (role === 'bot' && msg.intent) {
      const pct = typeof msg.confidence === 'number' ? ` · ${Math.round(msg.confidence * 100)}%` : '';
      setMeta(el, `${msg.intent}${pct}`);
    }
    if (role === 'user') {
      el.dataset.status = 'sent';
      if (msg.client_id) el.dataset.clientId = msg.client_id;
    }
    place(el, seq);
    scrollToBottom(stick);
  }

  function onSession(msg) {
    if (msg.token) storage.set(msg.token);
    // A different conversation (e.g. the token was rejected) means our rendered history is stale.
    if (conversation && msg.conversation && msg.conversation !== conversation) {
      for (const el of bySeq.values()) el.remove();
      bySeq.clear();
      lastSeq = 0;
    }
    conversation = msg.conversation || conversation;
    attempt = 0;
    ready = true;
    setState('open');
    send({ type: 'resume', after_seq: lastSeq });
    for (const [clientId, entry] of pending) {
      if (entry.el.dataset.status !== 'failed') send({ type: 'message', client_id: clientId, text: entry.text });
    }
  }

  const handlers = {
    session: onSession,
    message: onMessage,
    ack(msg) { settle(msg.client_id, Number(msg.seq)); },
    typing(msg) { setTyping(Boolean(msg.on)); },
    error(msg) {
      showError(msg.message || msg.code);
      if (!msg.client_id) return;
      pending.delete(msg.client_id);
      const el = list.querySelector(`[data-client-id="${CSS.escape(String(msg.client_id))}"]`);
      if (el) setStatus(el, 'failed');
      setTyping(false);
      updateStatus();
    },
  };

  function send(payload) {
    if (!ready || ws?.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(payload));
    return true;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const token = storage.get();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = new URLSearchParams({ lang: language || 'en' });
    if (token) query.set('token', token);
    const url = `${scheme}://${location.host}${wsPath}?${query}`;
    ready = false;
    // An 'online' event can fire mid-handshake; drop that socket so we never hold two sessions.
    if (ws && ws.readyState <= WebSocket.OPEN) { const old = ws; ws = null; old.close(); }
    const socket = new WebSocket(url);
    ws = socket;
    socket.addEventListener('message', (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      handlers[msg?.type]?.(msg);
    });
    socket.addEventListener('close', () => {
      if (ws !== socket) return;
      ready = false;
      setTyping(false);
      setState('reconnecting');
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    attempt += 1;
    // "Equal jitter": keeps a floor on the delay while spreading out a thundering herd after a server restart.
    const delay = base / 2 + Math.random() * (base / 2);
    reconnectTimer = setTimeout(connect, delay);
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    const clientId = uuid();
    const el = buildBubble('user', text);
    el.dataset.clientId = clientId;
    setStatus(el, 'pending');
    list.append(el);
    pending.set(clientId, { text, el });
    input.value = '';
    send({ type: 'message', client_id: clientId, text });
    updateStatus();
    scrollToBottom(true);
    input.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  input.addEventListener('keydown', (event) => {
    // isComposing: Enter confirms an IME candidate, it must not send half-typed text.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });

  // Skip the remaining backoff as soon as the browser says the network is back.
  window.addEventListener('online', () => {
    if (root.dataset.state !== 'open') { attempt = 0; connect(); }
  });
  window.addEventListener('offline', updateStatus);

  setState('connecting');
  connect();
  input.focus();
})();
