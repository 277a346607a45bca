// The staff console: the handoff queue and one conversation, live over /ws/console/ (docs/protocol.md).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let current = null;
  const seen = new Set();

  function send(frame) { if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame)); }

  function renderQueue(conversations) {
    const list = $("queue");
    list.replaceChildren();
    for (const item of conversations) {
      const li = document.createElement("li");
      li.className = item.handoff + (item.conversation === current ? " selected" : "");
      li.textContent = `${item.bot} · ${item.visitor} · ${item.handoff === "active" ? "with " + item.agent : "waiting"}`;
      li.addEventListener("click", () => open(item.conversation));
      list.append(li);
    }
  }

  function open(conversation) {
    current = conversation;
    seen.clear();
    $("transcript").replaceChildren();
    $("title").textContent = conversation;
    $("conversation").hidden = false;
    send({ type: "open", conversation });
  }

  function addMessage(message) {
    if (seen.has(message.seq)) return;
    seen.add(message.seq);
    const li = document.createElement("li");
    li.className = message.role;
    li.dataset.seq = message.seq;
    li.textContent = message.text;  // text, never markup: visitors write these
    const list = $("transcript");
    const after = [...list.children].find((node) => Number(node.dataset.seq) > message.seq);
    list.insertBefore(li, after || null);
    list.scrollTop = list.scrollHeight;
  }

  function onFrame(frame) {
    if (frame.type === "queue") renderQueue(frame.conversations);
    else if (frame.type === "history" && frame.conversation === current) frame.messages.forEach(addMessage);
    else if (frame.type === "message" && frame.conversation === current) addMessage(frame);
    else if (frame.type === "error") $("status").textContent = frame.message;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${document.body.dataset.wsPath}`);
    socket.addEventListener("open", () => { $("status").textContent = "live"; if (current) open(current); });
    socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", () => { $("status").textContent = "reconnecting…"; setTimeout(connect, 2000); });
  }

  $("take").addEventListener("click", () => current && send({ type: "take", conversation: current }));
  $("release").addEventListener("click", () => current && send({ type: "release", conversation: current }));
  $("reply").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text || !current) return;
    send({ type: "message", conversation: current, client_id: crypto.randomUUID(), text });
    $("text").value = "";
  });
  connect();
})();
