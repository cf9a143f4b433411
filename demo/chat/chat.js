// The demo chat page: join a room as a name, chat, see who is here (presence) and who is online (watch), send direct messages.
import { connect } from '/client/chatfleet.js';

const $ = (id) => document.getElementById(id);
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Presence is asked for, not pushed: this often. */
const PRESENCE_EVERY_MS = 3000;
const MAX_MESSAGES = 500;

let client;
let room;
let presenceTimer;
/** Direct-message target, or undefined for the room. */
let target;
const online = new Map();
let here = [];

const params = new URLSearchParams(location.search);
$('user').value = params.get('user') ?? localStorage.getItem('chatfleet.user') ?? '';
$('room').value = params.get('room') ?? localStorage.getItem('chatfleet.room') ?? 'lobby';
if (params.has('transport')) $('transport').value = params.get('transport');

$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  void join($('user').value.trim(), $('room').value.trim(), $('transport').value);
});
$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  void send();
});
$('leave').addEventListener('click', () => void leave());
$('target-clear').addEventListener('click', () => setTarget(undefined));
$('people-toggle').addEventListener('click', () => {
  const open = $('people').classList.toggle('open');
  $('people-toggle').setAttribute('aria-expanded', String(open));
});
$('watch').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('watch-name').value.trim();
  if (!ID.test(name)) return;
  watch([name]);
  $('watch-name').value = '';
});

async function join(user, roomId, transport) {
  const error = $('join-error');
  error.hidden = true;
  if (!ID.test(user) || !ID.test(roomId)) {
    showJoinError('Names and rooms use letters, digits and . _ : - (up to 64).');
    return;
  }
  $('join').querySelector('button').disabled = true;
  try {
    client = await connect({ balancer: location.origin, user, transport, startTimeoutMs: 10_000 });
  } catch (e) {
    showJoinError(`Could not connect (${e.code}): ${e.message}`);
    $('join').querySelector('button').disabled = false;
    return;
  }
  localStorage.setItem('chatfleet.user', user);
  localStorage.setItem('chatfleet.room', roomId);
  room = roomId;
  wire(client);
  $('join').hidden = true;
  $('chat').hidden = false;
  $('room-name').textContent = `#${roomId}`;
  $('me').textContent = user;
  showState(client);
  try {
    const info = await client.join(roomId);
    setHere(info.members);
    notice(`You joined #${roomId} on ${client.serverId} over ${client.transport === 'sse' ? 'server-sent events' : 'a websocket'}.`);
  } catch (e) {
    notice(`Could not join (${e.code}): ${e.message}`);
  }
  presenceTimer = setInterval(refreshPresence, PRESENCE_EVERY_MS);
  $('text').focus();
}

function showJoinError(text) {
  const error = $('join-error');
  error.textContent = text;
  error.hidden = false;
}

function wire(c) {
  c.on('state', () => showState(c));
  c.on('welcome', () => showState(c));
  c.on('message', (m) => {
    addMessage({ from: m.from, text: m.message, ts: m.ts, mine: m.from === c.userId });
    // Presence is asked for, not pushed: someone new speaking is a reason to ask now rather than at the next round.
    if (m.chatId === room && !here.includes(m.from)) void refreshPresence();
  });
  c.on('direct', (d) => {
    const mine = d.from === c.userId;
    addMessage({ from: d.from, to: d.to, text: d.message, ts: d.ts, mine, direct: true });
  });
  c.on('registered', (info) => {
    if (info.chatId === room) setHere(info.members);
  });
  c.on('status', ({ userId, online: isOnline }) => {
    if (c !== client) return;
    online.set(userId, isOnline);
    renderOnline();
  });
  c.on('redirect', () => notice('The fleet moved you to another server; nothing is lost.'));
  c.on('fallback', () => notice('Websockets look blocked: trying server-sent events.'));
  c.on('gap', ({ chatId }) => {
    if (chatId === room) notice('Some earlier messages may be missing: the room history could not fill the gap.');
  });
}

function showState(c) {
  if (c !== client) return;
  const status = $('status');
  status.dataset.state = c.state;
  const how = c.transport === 'sse' ? 'SSE' : 'websocket';
  if (c.state !== 'open') {
    status.textContent = c.state;
    return;
  }
  const server = document.createElement('span');
  server.className = 'server';
  server.textContent = ` · ${c.serverId}`;
  status.replaceChildren(how, server);
}

async function refreshPresence() {
  if (client?.state !== 'open') return;
  try {
    setHere(await client.presence(room));
  } catch {
    // a reconnect is under way; the next round asks again
  }
}

function setHere(members) {
  if (client === undefined) return;
  here = [...new Set(members)].sort();
  watch(here);
  const list = $('here');
  list.replaceChildren(...here.map((name) => nameItem(name, true)));
  $('here-count').textContent = `(${here.length})`;
}

/** Watches names not watched yet, up to the client's limit of 100. */
function watch(names) {
  const fresh = names.filter((name) => !online.has(name) && ID.test(name)).slice(0, 100 - online.size);
  if (fresh.length === 0) return;
  for (const name of fresh) online.set(name, undefined);
  try {
    client.watch(fresh);
  } catch (e) {
    notice(`Cannot watch more (${e.code}).`);
  }
  renderOnline();
}

function renderOnline() {
  const names = [...online.keys()].sort();
  $('online').replaceChildren(...names.map((name) => nameItem(name, online.get(name))));
}

function nameItem(name, isOnline) {
  const item = document.createElement('li');
  item.dataset.user = name;
  item.dataset.online = String(isOnline === true);
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = name === client.userId ? `${name} (you)` : name;
  button.title = name === client.userId ? 'you' : `send ${name} a direct message`;
  button.addEventListener('click', () => {
    if (name !== client.userId) setTarget(name);
  });
  item.append(button);
  return item;
}

function setTarget(name) {
  target = name;
  $('target').hidden = name === undefined;
  $('target-name').textContent = name === undefined ? '' : `to @${name}`;
  $('text').placeholder = name === undefined ? 'Message' : `Direct message to ${name}`;
  $('people').classList.remove('open');
  $('text').focus();
}

async function send() {
  const input = $('text');
  const text = input.value.trim();
  if (text === '') return;
  input.value = '';
  try {
    if (target === undefined) {
      await client.send(room, text);
    } else {
      const to = target;
      await client.direct(to, text);
      // A direct message is not echoed to its sender: show it here.
      addMessage({ from: client.userId, to, text, ts: Date.now(), mine: true, direct: true });
    }
  } catch (e) {
    input.value = text;
    notice(`Not sent (${e.code}): ${e.message}`);
  }
}

function addMessage({ from, to, text, ts, mine, direct }) {
  const list = $('messages');
  const item = document.createElement('li');
  item.className = `${mine ? 'mine' : ''} ${direct ? 'direct' : ''}`.trim();
  item.dataset.from = from;
  const meta = document.createElement('span');
  meta.className = 'meta';
  const time = new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  meta.textContent = direct ? `${mine ? `you → ${to}` : `${from} → you`} · direct · ${time}` : `${mine ? 'you' : from} · ${time}`;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(meta, body);
  if (direct && !mine) item.addEventListener('click', () => setTarget(from));
  append(list, item);
}

function notice(text) {
  const item = document.createElement('li');
  item.className = 'notice';
  item.textContent = text;
  append($('messages'), item);
}

function append(list, item) {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  while (list.children.length > MAX_MESSAGES) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function leave() {
  clearInterval(presenceTimer);
  const leaving = client;
  client = undefined;
  await leaving?.close();
  online.clear();
  setTarget(undefined);
  $('messages').replaceChildren();
  $('chat').hidden = true;
  $('join').hidden = false;
  $('join').querySelector('button').disabled = false;
}
