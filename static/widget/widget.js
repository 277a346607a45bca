/*! Charla chat widget. One classic script, no dependencies, no build step:
 *  <script src="https://HOST/static/chatbot/widget.js" data-bot="demo" async></script>
 *  The same code is the full-size chat of /chat/<bot>/ and /embed/<bot>/ (data-mode="page" / "embed").
 *  Protocol: docs/protocol.md. Options: README.md ("Chat widget").
 */
(() => {
  'use strict';

  const script = document.currentScript;
  if (!script || !script.dataset.bot) return;

  const STRINGS = {
    en: {
      title: 'Chat', open: 'Open chat', close: 'Close chat', unread: (n) => `${n} unread`,
      connecting: 'Connecting…', online: 'Online', reconnecting: 'Reconnecting…',
      offline: 'Offline — messages will be sent when back', refused: 'Chat unavailable on this site',
      conversation: 'Conversation', typing: (name) => `${name} is typing…`, message: 'Your message',
      placeholder: 'Type a message…', send: 'Send', you: 'You', agent: 'Agent', failed: 'Not sent',
      sending: 'Sending…', error: 'Something went wrong', replies: 'Suggested replies',
    },
    es: {
      title: 'Chat', open: 'Abrir el chat', close: 'Cerrar el chat', unread: (n) => `${n} sin leer`,
      connecting: 'Conectando…', online: 'En línea', reconnecting: 'Reconectando…',
      offline: 'Sin conexión — los mensajes se enviarán al volver', refused: 'Chat no disponible en este sitio',
      conversation: 'Conversación', typing: (name) => `${name} está escribiendo…`, message: 'Tu mensaje',
      placeholder: 'Escribe un mensaje…', send: 'Enviar', you: 'Tú', agent: 'Agente', failed: 'No enviado',
      sending: 'Enviando…', error: 'Algo salió mal', replies: 'Respuestas sugeridas',
    },
  };
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const TYPING_TIMEOUT_MS = 30000;
  const ERROR_VISIBLE_MS = 8000;
  const MAX_PENDING = 50;
  const TOO_MANY_VISITORS = 4029; // closed before a visitor was made: reconnect after the error frame's retry_after
  const RATE_LIMIT_DEFAULT_S = 60;
  const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
  // Close codes after which retrying cannot help (docs/protocol.md), with the cause for the site's owner.
  const REFUSALS = {
    4003: 'this page\'s origin is not in the bot\'s allowed origins (nor in CHARLA_ALLOWED_ORIGINS)',
    4004: 'there is no bot with this data-bot slug',
  };

  // ---- Rich text: an allow-list of markdown (bold, italics, links) built as DOM nodes, never as HTML. ----

  // A backslash before a markdown character makes it literal: the server escapes slot values that way.
  const INLINE = /\\([\\*_\[\]()])|\*\*([^*\n]+)\*\*|(?<![\w*])\*([^*\s][^*\n]*?)\*(?![\w*])|(?<!\w)_([^_\s][^_\n]*?)_(?!\w)|\[([^\]\n]+)\]\(([^)\s]+)\)/g;

  function safeUrl(raw) {
    try {
      const url = new URL(raw); // relative URLs throw: a link must say where it goes
      return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
    } catch { return null; }
  }

  function renderRich(parent, text) {
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      parent.append(text.slice(last, match.index));
      last = match.index + match[0].length;
      const [whole, escaped, bold, star, under, label, href] = match;
      let node;
      if (escaped) { node = document.createTextNode(escaped); }
      else if (bold) { node = document.createElement('strong'); node.textContent = bold; }
      else if (star || under) { node = document.createElement('em'); node.textContent = star || under; }
      else if (safeUrl(href)) {
        node = document.createElement('a');
        node.href = safeUrl(href);
        node.target = '_blank';
        node.rel = 'noopener noreferrer';
        node.textContent = label;
      } else { node = document.createTextNode(whole); }
      parent.append(node);
    }
    parent.append(text.slice(last));
  }

  // ---- Options, from the script tag's data- attributes. ----

  function readOptions() {
    const d = script.dataset;
    const browser = (navigator.language || 'en').slice(0, 2).toLowerCase();
    const wanted = (d.lang || 'auto').toLowerCase();
    const language = STRINGS[wanted] ? wanted : (STRINGS[browser] ? browser : 'en');
    const t = STRINGS[language];
    let avatar = null;
    if (d.avatar) { try { avatar = new URL(d.avatar, script.src); } catch { avatar = null; } }
    return {
      bot: d.bot,
      server: new URL(d.server || script.src, location.href).origin,
      mode: ['page', 'embed'].includes(d.mode) ? d.mode : 'launcher',
      target: d.target,
      language,
      t,
      title: d.title || t.title,
      color: d.color && CSS.supports('color', d.color) ? d.color : null,
      position: d.position === 'left' ? 'left' : 'right',
      avatar: avatar && ['http:', 'https:'].includes(avatar.protocol) ? avatar.href : null,
      greeting: d.greeting || '',
      openOnLoad: d.open === 'true',
    };
  }

  // ---- DOM: everything lives in an open Shadow DOM on one host element. ----

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function launcherIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  }

  // Text on a custom accent colour: black or white, whichever contrasts more (WCAG relative luminance).
  function contrastText(color, probe) {
    probe.style.color = color;
    const [r, g, b] = getComputedStyle(probe).color.match(/[\d.]+/g).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    probe.style.color = '';
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#111111' : '#ffffff';
  }

  function buildUi(opts) {
    const { t } = opts;
    let host = opts.target && document.getElementById(opts.target);
    if (!host) {
      host = el('div', { id: 'charla-widget', 'data-state': 'connecting' });
      document.body.append(host);
    }
    if (host.shadowRoot) return null; // the script was included twice
    const shadow = host.attachShadow({ mode: 'open' });
    host.style.visibility = 'hidden';
    const css = el('link', { rel: 'stylesheet', href: new URL('widget.css', script.src).href });
    const reveal = () => { host.style.visibility = ''; };
    css.addEventListener('load', reveal);
    css.addEventListener('error', reveal);

    const ui = { host, shadow };
    ui.avatar = el('span', { class: 'avatar', 'aria-hidden': 'true' });
    if (opts.avatar) ui.avatar.append(el('img', { src: opts.avatar, alt: '' }));
    else ui.avatar.textContent = opts.title.charAt(0).toUpperCase();
    ui.status = el('p', { class: 'status', id: 'chat-status' }, t.connecting);
    ui.close = el('button', { type: 'button', class: 'close', 'aria-label': t.close }, '×');
    ui.messages = el('div', { id: 'messages', class: 'messages', tabindex: '0', 'aria-label': t.conversation });
    ui.typing = el('div', { id: 'chat-typing', class: 'typing', hidden: '' },
      el('span', { class: 'dots', 'aria-hidden': 'true' }, el('span'), el('span'), el('span')),
      el('span', { class: 'visually-hidden' }, t.typing(opts.title)));
    ui.error = el('p', { id: 'chat-error', class: 'error', role: 'alert', hidden: '' });
    ui.input = el('textarea', {
      id: 'chat-input', class: 'input', name: 'text', rows: '1', maxlength: '2000', placeholder: t.placeholder,
    });
    ui.send = el('button', { id: 'chat-send', class: 'send', type: 'submit' }, t.send);
    ui.form = el('form', { id: 'chat-form', class: 'form', autocomplete: 'off' },
      el('label', { for: 'chat-input', class: 'visually-hidden' }, t.message), ui.input, ui.send);
    ui.announcer = el('div', { class: 'visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'false' });
    const header = el('header', { class: 'header' }, ui.avatar,
      el('div', { class: 'heading' }, el('h2', { class: 'title', id: 'chat-title' }, opts.title), ui.status));
    ui.panel = el('section', { id: 'panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'chat-title' },
      header, ui.messages, ui.typing, ui.error, ui.form, ui.announcer);
    ui.root = el('div', { class: 'charla', 'data-mode': opts.mode, 'data-position': opts.position, lang: opts.language });
    if (opts.mode === 'launcher') {
      header.append(ui.close);
      ui.badge = el('span', { class: 'badge', 'aria-hidden': 'true', hidden: '' });
      ui.launcher = el('button', {
        type: 'button', class: 'launcher', id: 'chat-launcher', 'aria-controls': 'panel', 'aria-expanded': 'false',
        'aria-label': t.open,
      }, launcherIcon(), ui.badge);
      ui.panel.hidden = true;
      ui.root.append(ui.panel, ui.launcher);
    } else {
      ui.root.append(ui.panel);
    }
    shadow.append(css, ui.root);
    if (opts.color) {
      host.style.setProperty('--accent', opts.color);
      host.style.setProperty('--accent-text', contrastText(opts.color, ui.root));
    }
    return ui;
  }

  // ---- The chat: protocol, ordering by seq, dedupe, offline queue, reconnection, streaming. ----

  function startChat(opts, ui) {
    const { t } = opts;
    const list = ui.messages;
    const key = (name) => `charla:${opts.server}:${opts.bot}:${name}`;
    const storage = {
      get(name) { try { return localStorage.getItem(key(name)); } catch { return null; } },
      set(name, v) { try { localStorage.setItem(key(name), v); } catch { /* private mode: this page only */ } },
    };

    const bySeq = new Map();    // seq -> element of a final message: the single source of truth for dedupe
    const streams = new Map();  // seq -> { el, queue, final } while an answer is being revealed
    const pending = new Map();  // client_id -> { text, el }, in send order; kept in localStorage until acked
    const answerSeqs = new Set();
    const buttonTitles = new Map(); // payload -> title: a click shows what the visitor chose, not the payload
    let lastSeq = 0;
    let historyUpTo = null;     // last_seq of the first session: older messages are history, not news
    let conversation = null;
    let ws = null;
    let ready = false;          // true only after "session", so resume always precedes our messages
    let attempt = 0;
    let reconnectTimer = null;
    let typingTimer = null;
    let errorTimer = null;
    let retryAfterS = RATE_LIMIT_DEFAULT_S;
    const refused = new Set();  // client_ids refused (rate limit, busy): sent again, in order, after retry_after
    let resendTimer = null;
    let open = opts.mode !== 'launcher';

    function uuid() {
      if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only; http on a LAN IP falls through
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }

    function setState(state) {
      ui.host.dataset.state = state;
      updateStatus();
    }

    function updateStatus() {
      const state = ui.host.dataset.state;
      const offline = state === 'reconnecting' && (pending.size > 0 || navigator.onLine === false);
      ui.status.textContent = offline ? t.offline : t[state === 'open' ? 'online' : state];
    }

    function showError(message) {
      ui.error.textContent = message ? `${t.error}: ${message}` : t.error;
      ui.error.hidden = false;
      clearTimeout(errorTimer);
      errorTimer = setTimeout(() => { ui.error.hidden = true; }, ERROR_VISIBLE_MS);
    }

    function setTyping(on) {
      ui.typing.hidden = !on;
      clearTimeout(typingTimer);
      // A lost answer (dropped socket) must not leave the indicator up forever.
      if (on) { typingTimer = setTimeout(() => { ui.typing.hidden = true; }, TYPING_TIMEOUT_MS); scrollToBottom(true); }
    }

    const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    function scrollToBottom(force) { if (force || nearBottom()) list.scrollTop = list.scrollHeight; }

    function who(role, msg) {
      if (role === 'user') return t.you;
      if (role === 'agent') return typeof msg.agent_name === 'string' && msg.agent_name ? msg.agent_name : t.agent;
      return opts.title;
    }

    function buildBubble(role, name) {
      const node = el('div', { class: `msg msg--${role}`, 'data-role': role },
        el('span', { class: 'msg__who' }, name), el('p', { class: 'msg__bubble' }), el('span', { class: 'msg__meta' }));
      return node;
    }

    const bubbleOf = (node) => node.querySelector('.msg__bubble');
    const setMeta = (node, text) => { node.querySelector('.msg__meta').textContent = text || ''; };

    function setStatus(node, status) {
      node.dataset.status = status;
      setMeta(node, status === 'failed' ? t.failed : status === 'pending' ? t.sending : '');
    }

    // Keep the DOM ordered by seq; the greeting stays first and bubbles still waiting for a seq stay last.
    function place(node, seq) {
      node.dataset.seq = String(seq);
      const next = [...list.children].find((c) => c !== node && !c.classList.contains('msg--greeting')
        && (!c.dataset.seq || Number(c.dataset.seq) > seq));
      list.insertBefore(node, next || null);
    }

    function register(node, seq) {
      bySeq.set(seq, node);
      lastSeq = Math.max(lastSeq, seq);
    }

    // The highest seq up to which nothing is missing. Another tab's question is not pushed to this one, only
    // the answer: a seq past a hole asks for a resume from the hole.
    function contiguousSeq() {
      let seq = 0;
      while (bySeq.has(seq + 1)) seq += 1;
      return seq;
    }

    function fillGap(seq) {
      const known = contiguousSeq();
      if (seq > known + 1) send({ type: 'resume', after_seq: known });
    }

    function settle(clientId, seq) {
      const entry = pending.get(clientId);
      if (!entry) return false;
      pending.delete(clientId);
      forgetPending(clientId);
      if (bySeq.has(seq)) entry.el.remove();
      else { setStatus(entry.el, 'sent'); place(entry.el, seq); register(entry.el, seq); }
      updateStatus();
      return true;
    }

    // History replays the answer (and its buttons) before the visitor's choice, so a reload shows the title too.
    const shown = (text) => buttonTitles.get(text) ?? text;

    function addButtons(node, buttons) {
      if (!Array.isArray(buttons)) return;
      const valid = buttons.filter((b) => b && typeof b.title === 'string' && typeof b.payload === 'string').slice(0, 10);
      if (!valid.length) return;
      const group = el('div', { class: 'msg__buttons', role: 'group', 'aria-label': t.replies });
      for (const b of valid) {
        buttonTitles.set(b.payload, b.title);
        const button = el('button', { type: 'button', class: 'quick' }, b.title);
        button.addEventListener('click', () => submitText(b.payload));
        group.append(button);
      }
      node.append(group);
    }

    // A final answer: rich text, meta, quick replies, announced and counted as unread when new.
    function finishAnswer(node, msg, role) {
      const bubble = bubbleOf(node);
      bubble.textContent = '';
      renderRich(bubble, String(msg.text ?? ''));
      delete node.dataset.streaming;
      if (role === 'bot' && msg.intent) {
        const pct = typeof msg.confidence === 'number' ? ` · ${Math.round(msg.confidence * 100)}%` : '';
        setMeta(node, `${msg.intent}${pct}`);
      }
      addButtons(node, msg.buttons);
      answerSeqs.add(Number(msg.seq));
      if (historyUpTo !== null && Number(msg.seq) > historyUpTo) {
        ui.announcer.append(el('p', {}, `${who(role, msg)}: ${bubble.textContent}`));
      }
      updateUnread();
    }

    function onMessage(msg) {
      const seq = Number(msg.seq);
      if (!Number.isInteger(seq) || bySeq.has(seq)) return;
      const role = ['user', 'agent'].includes(msg.role) ? msg.role : 'bot';
      const stick = nearBottom();
      if (role !== 'user') setTyping(false);
      if (role === 'user' && msg.client_id && settle(msg.client_id, seq)) return;
      const stream = streams.get(seq);
      if (stream) { register(stream.el, seq); stream.final = msg; reveal(seq); fillGap(seq); return; }
      const node = buildBubble(role, who(role, msg));
      if (role === 'user') {
        bubbleOf(node).textContent = shown(String(msg.text ?? ''));
        node.dataset.status = 'sent';
        if (msg.client_id) node.dataset.clientId = msg.client_id;
      }
      place(node, seq);
      register(node, seq);
      if (role !== 'user') finishAnswer(node, msg, role);
      scrollToBottom(stick);
      fillGap(seq);
    }

    // Stream frames all arrive at once (the answer is stored whole); pacing the reveal here is what makes
    // a long answer appear progressively, a few characters per frame.
    function onStreamStart(msg) {
      const seq = Number(msg.seq);
      if (!Number.isInteger(seq) || bySeq.has(seq) || streams.has(seq)) return;
      setTyping(false);
      const role = msg.role === 'agent' ? 'agent' : 'bot';
      const node = buildBubble(role, who(role, msg));
      node.dataset.streaming = 'true';
      place(node, seq);
      streams.set(seq, { el: node, queue: '', final: null, frame: null });
      scrollToBottom(true);
    }

    function onStreamDelta(msg) {
      const stream = streams.get(Number(msg.seq));
      if (!stream || typeof msg.text !== 'string') return;
      stream.queue += msg.text;
      reveal(Number(msg.seq));
    }

    function reveal(seq) {
      const stream = streams.get(seq);
      if (!stream || stream.frame) return;
      const step = () => {
        stream.frame = null;
        const bubble = bubbleOf(stream.el);
        if (stream.queue && !document.hidden) {
          const n = Math.max(2, Math.ceil(stream.queue.length / 30));
          bubble.append(stream.queue.slice(0, n));
          stream.queue = stream.queue.slice(n);
          scrollToBottom(false);
          stream.frame = requestAnimationFrame(step);
          return;
        }
        if (stream.final) { // everything shown (or the tab is hidden): swap in the final, formatted message
          streams.delete(seq);
          finishAnswer(stream.el, stream.final, stream.el.dataset.role);
          scrollToBottom(false);
        }
      };
      stream.frame = requestAnimationFrame(step);
      if (document.hidden) step(); // no animation frames in a background tab
    }

    function updateUnread() {
      if (opts.mode !== 'launcher') return;
      const seen = JSON.parse(storage.get('seen') || 'null');
      const seenSeq = seen && seen.conversation === conversation ? seen.seq : 0;
      if (open) {
        if (lastSeq > seenSeq) storage.set('seen', JSON.stringify({ conversation, seq: lastSeq }));
        ui.badge.hidden = true;
        ui.launcher.setAttribute('aria-label', t.open);
        return;
      }
      const unread = [...answerSeqs].filter((seq) => seq > seenSeq).length;
      ui.badge.hidden = unread === 0;
      ui.badge.textContent = String(unread);
      ui.launcher.setAttribute('aria-label', unread ? `${t.open} (${t.unread(unread)})` : t.open);
    }

    function clearConversation() {
      for (const node of [...bySeq.values(), ...[...streams.values()].map((s) => s.el)]) node.remove();
      bySeq.clear();
      streams.clear();
      answerSeqs.clear();
      lastSeq = 0;
    }

    function onSession(msg) {
      if (msg.token) storage.set('token', msg.token);
      // Another conversation (the token was refused or expired): what is on screen is stale.
      if (conversation && msg.conversation && msg.conversation !== conversation) clearConversation();
      conversation = msg.conversation || conversation;
      if (historyUpTo === null) historyUpTo = Number(msg.last_seq) || 0;
      attempt = 0;
      ready = true;
      setState('open');
      send({ type: 'resume', after_seq: contiguousSeq() });
      refused.clear();
      clearTimeout(resendTimer);
      for (const [clientId, entry] of pending) {
        if (entry.el.dataset.status !== 'failed') send({ type: 'message', client_id: clientId, text: entry.text });
      }
      updateUnread();
    }

    const handlers = {
      session: onSession,
      message: onMessage,
      'stream.start': onStreamStart,
      'stream.delta': onStreamDelta,
      ack(msg) { settle(msg.client_id, Number(msg.seq)); },
      busy: onRefused, // the answer queue is past capacity: not stored, send it again after retry_after
      typing(msg) { setTyping(Boolean(msg.on)); },
      error(msg) {
        showError(typeof msg.message === 'string' ? msg.message : msg.code);
        if (msg.code === 'rate_limited') { onRefused(msg); return; }
        if (typeof msg.client_id !== 'string') return;
        const entry = pending.get(msg.client_id);
        pending.delete(msg.client_id);
        forgetPending(msg.client_id);
        if (entry) setStatus(entry.el, 'failed');
        setTyping(false);
        updateStatus();
      },
    };

    // A message refused by the rate limit (`rate_limited`) or a busy server (`busy`) was neither stored nor
    // acknowledged: it stays pending (and in localStorage) and is sent again once `retry_after` seconds have
    // passed (plus up to a second, so refused visitors do not all come back at once), or after the next `session`.
    function onRefused(msg) {
      const seconds = Number(msg.retry_after);
      retryAfterS = Number.isFinite(seconds) && seconds > 0 ? seconds : RATE_LIMIT_DEFAULT_S;
      if (typeof msg.client_id !== 'string' || !pending.has(msg.client_id)) return;
      refused.add(msg.client_id);
      clearTimeout(resendTimer);
      resendTimer = setTimeout(resendRefused, retryAfterS * 1000 + Math.random() * 1000);
    }

    function resendRefused() {
      resendTimer = null;
      for (const [clientId, entry] of pending) {
        if (refused.delete(clientId)) send({ type: 'message', client_id: clientId, text: entry.text });
      }
    }

    function send(payload) {
      if (!ready || ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(payload));
      return true;
    }

    function connect() {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      const query = new URLSearchParams({ lang: opts.language, stream: '1' });
      const token = storage.get('token');
      if (token) query.set('token', token);
      const url = `${opts.server.replace(/^http/, 'ws')}/ws/chat/${encodeURIComponent(opts.bot)}/?${query}`;
      ready = false;
      // An 'online' event can fire mid-handshake; drop that socket so we never hold two sessions.
      if (ws && ws.readyState <= WebSocket.OPEN) { const old = ws; ws = null; old.close(); }
      const socket = new WebSocket(url);
      ws = socket;
      socket.addEventListener('message', (event) => {
        let msg;
        try { msg = JSON.parse(event.data); } catch { return; }
        if (msg && typeof msg === 'object' && Object.hasOwn(handlers, msg.type)) handlers[msg.type](msg);
      });
      socket.addEventListener('close', (event) => {
        if (ws !== socket) return;
        ready = false;
        setTyping(false);
        if (Object.hasOwn(REFUSALS, event.code)) { refuse(event.code); return; }
        setState('reconnecting');
        if (event.code === TOO_MANY_VISITORS) {
          clearTimeout(reconnectTimer);
          reconnectTimer = setTimeout(connect, retryAfterS * 1000 + Math.random() * 1000);
          return;
        }
        scheduleReconnect();
      });
    }

    function refuse(code) {
      console.warn(`Charla: the chat server refused this widget (${code}): ${REFUSALS[code]}.`);
      setState('refused');
      ui.input.disabled = true;
      ui.send.disabled = true;
    }

    function scheduleReconnect() {
      if (reconnectTimer) return;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
      attempt += 1;
      // "Equal jitter": a floor on the delay, while a crowd reconnecting after a restart is spread out.
      reconnectTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
    }

    function submitText(raw) {
      const text = raw.trim();
      if (!text) return;
      const clientId = uuid();
      queue(clientId, text);
      storePending([...storedPending(), { clientId, text }]);
      send({ type: 'message', client_id: clientId, text });
      updateStatus();
      scrollToBottom(true);
    }

    function queue(clientId, text) {
      const node = buildBubble('user', t.you);
      bubbleOf(node).textContent = shown(text);
      node.dataset.clientId = clientId;
      setStatus(node, 'pending');
      list.append(node);
      pending.set(clientId, { text, el: node });
    }

    // A message typed offline survives closing the tab: the next page of this site sends it (once: the server
    // dedupes by client_id, also when two tabs send it). Entries are added and removed one by one, never the
    // whole list written from one tab's memory, so tabs do not erase each other's.
    function storedPending() {
      let saved = [];
      try { saved = JSON.parse(storage.get('pending') || '[]'); } catch { /* unreadable: nothing to restore */ }
      return Array.isArray(saved)
        ? saved.filter((item) => typeof item?.clientId === 'string' && typeof item.text === 'string') : [];
    }

    function storePending(items) { storage.set('pending', JSON.stringify(items.slice(-MAX_PENDING))); }

    function forgetPending(clientId) { storePending(storedPending().filter((item) => item.clientId !== clientId)); }

    function restorePending() {
      for (const item of storedPending()) if (!pending.has(item.clientId)) queue(item.clientId, item.text);
    }

    function setOpen(value, { focus = true } = {}) {
      open = value;
      ui.panel.hidden = !open;
      ui.root.dataset.open = String(open);
      ui.launcher.setAttribute('aria-expanded', String(open));
      if (open) { scrollToBottom(true); if (focus) ui.input.focus(); } else if (focus) ui.launcher.focus();
      updateUnread();
    }

    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      submitText(ui.input.value);
      ui.input.value = '';
      ui.input.focus();
    });
    ui.input.addEventListener('keydown', (event) => {
      // isComposing: Enter confirms an IME candidate, it must not send half-typed text.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.form.requestSubmit();
      }
    });
    if (opts.mode === 'launcher') {
      ui.launcher.addEventListener('click', () => setOpen(!open));
      ui.close.addEventListener('click', () => setOpen(false));
      ui.panel.addEventListener('keydown', (event) => { if (event.key === 'Escape') setOpen(false); });
      if (opts.openOnLoad) setOpen(true, { focus: false });
      // Read in one tab is read in all: another tab of the same visitor showed the answers up to its `seen`.
      window.addEventListener('storage', (event) => { if (event.key === key('seen')) updateUnread(); });
    }
    if (opts.greeting) {
      const node = buildBubble('bot', opts.title);
      node.classList.add('msg--greeting');
      renderRich(bubbleOf(node), opts.greeting);
      list.prepend(node);
    }
    // Skip the remaining backoff as soon as the browser says the network is back.
    window.addEventListener('online', () => {
      if (!['open', 'refused'].includes(ui.host.dataset.state)) { attempt = 0; connect(); }
    });
    window.addEventListener('offline', updateStatus);

    restorePending();
    setState('connecting');
    connect();
    if (opts.mode === 'page') ui.input.focus(); // an iframe must not pull focus from the page that holds it
  }

  function mount() {
    const opts = readOptions();
    const ui = buildUi(opts);
    if (ui) startChat(opts, ui);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
})();
