// The web chat: posts each message as JSON, shows replies, offers choices as buttons.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const choices = document.getElementById("choices");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  const endpoint = "/chat/api/messages";

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function bubble(direction, text) {
    const item = document.createElement("li");
    item.className = direction;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = direction === "in" ? "You said: " : "Listening Post said: ";
    item.appendChild(who);
    item.appendChild(document.createTextNode(text));
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function offer(list) {
    choices.replaceChildren();
    for (const choice of list || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = choice.label;
      button.dataset.value = choice.value;
      button.addEventListener("click", () => send({ text: choice.label, choice: choice.value }));
      choices.appendChild(button);
    }
  }

  async function post(body, attempt) {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    if (response.status >= 500 && attempt < 3) {
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      return post(body, attempt + 1);  // same client_id: the server answers once
    }
    if (!response.ok) throw new Error("status " + response.status);
    return response.json();
  }

  async function send(message) {
    const body = { text: message.text || "", client_id: newId() };
    if (message.choice) body.choice = message.choice;
    bubble("in", message.text);
    offer([]);
    status.textContent = "";
    try {
      const answer = await post(body, 0);
      let last = [];
      for (const reply of answer.replies) { bubble("out", reply.text); last = reply.choices; }
      offer(last);
    } catch (error) {
      status.textContent = "Sorry, that didn't send. Please try again.";
    }
    input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { status.textContent = "Please type a message first."; return; }
    input.value = "";
    send({ text: text });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  async function start() {
    const response = await fetch(endpoint, { credentials: "same-origin" });
    const history = response.ok ? await response.json() : { messages: [] };
    let last = [];
    for (const item of history.messages) { bubble(item.direction, item.text); last = item.direction === "out" ? item.choices : []; }
    if (history.messages.length === 0) { await send({ text: "Hello" }); } else { offer(last); }
    input.focus();
  }
  start();
})();
