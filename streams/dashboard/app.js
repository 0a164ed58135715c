/**
 * Veil's reference dashboard: connects to /feed, keeps each camera's recent released windows and draws them with
 * uPlot (loaded as the global `uPlot` by index.html). Plain ES module, no build step.
 *
 * It only ever sees what the feed sends: noised per-window aggregates and camera states.
 */

/* global uPlot */

const FEED_SUBPROTOCOL = 'veil.v1';
const TOKEN_SUBPROTOCOL_PREFIX = 'veil.bearer.';
const TOKEN_STORAGE_KEY = 'veil-feed-token';
/** Windows kept per camera: a day of one-minute windows is 1440, more than a chart this wide can show apart. */
const MAX_WINDOWS_PER_CAMERA = 720;
const CHART_HEIGHT_PX = 210;
const RECONNECT_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
const VEHICLE_CLASSES = ['bicycle', 'car', 'motorcycle', 'bus', 'truck'];
const PALETTE = ['#4cc9f0', '#f8961e', '#90e36b', '#f15bb5', '#a28bff', '#2ec4b6', '#ffd166', '#ef476f'];
const DASHED = [6, 5];

const cameras = new Map();
const connection = document.getElementById('connection');
const connectionText = connection.querySelector('.connection-text');
const tokenButton = document.getElementById('token-button');

/** The token comes from ?token= once, then lives in this tab's session storage and out of the address bar. */
function feedToken() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    params.delete('token');
    const query = params.toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_STORAGE_KEY) ?? askForToken();
}

function askForToken() {
  const entered = window.prompt('Veil feed token');
  if (entered) sessionStorage.setItem(TOKEN_STORAGE_KEY, entered);
  return entered ?? '';
}

/** A browser cannot set headers on a WebSocket, so the token travels as a subprotocol, base64url to fit its grammar. */
function tokenSubprotocol(token) {
  const bytes = new TextEncoder().encode(token);
  const base64 = btoa(String.fromCharCode(...bytes));
  return TOKEN_SUBPROTOCOL_PREFIX + base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function showConnection(state, text) {
  connection.dataset.state = state;
  connectionText.textContent = text;
  tokenButton.hidden = state !== 'failed';
}

let reconnectAttempt = 0;

function connect(token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/feed`, [FEED_SUBPROTOCOL, tokenSubprotocol(token)]);
  let opened = false;
  showConnection('connecting', 'Connecting…');
  socket.addEventListener('open', () => {
    opened = true;
    reconnectAttempt = 0;
    showConnection('live', 'Live');
  });
  socket.addEventListener('message', (event) => onMessage(event.data));
  socket.addEventListener('close', (event) => {
    const delayMs = RECONNECT_DELAYS_MS[Math.min(reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)];
    reconnectAttempt += 1;
    // A refused token never opens the socket (the server answers 401 before the upgrade).
    const why = opened ? `Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''})` : 'Cannot connect — check the token';
    showConnection(opened ? 'retrying' : 'failed', `${why} · retrying in ${Math.round(delayMs / 1000)} s`);
    setTimeout(() => connect(sessionStorage.getItem(TOKEN_STORAGE_KEY) ?? token), delayMs);
  });
}

function onMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  if (message?.v !== 1) return;
  if (message.type === 'hello') {
    for (const name of message.cameras) cameraView(name);
  } else if (message.type === 'status') {
    showStatus(cameraView(message.camera), message);
  } else if (message.type === 'window') {
    addWindow(cameraView(message.window.camera), message.window);
  }
}

function cameraView(name) {
  let view = cameras.get(name);
  if (view) return view;
  const card = document.getElementById('camera-card').content.firstElementChild.cloneNode(true);
  card.dataset.camera = name;
  card.querySelector('.camera-name').textContent = name;
  const list = document.getElementById('cameras');
  const after = [...list.children].find((other) => other.dataset.camera.localeCompare(name) > 0);
  list.insertBefore(card, after ?? null);
  document.getElementById('empty').hidden = true;
  view = {
    name,
    card,
    windows: new Map(),
    crowd: { element: card.querySelector('.crowd-chart'), plot: null, seriesKey: '' },
    traffic: { element: card.querySelector('.traffic-chart'), plot: null, seriesKey: '' },
    renderPending: false,
  };
  cameras.set(name, view);
  for (const chart of [view.crowd, view.traffic]) {
    new ResizeObserver(() => chart.plot?.setSize({ width: chart.element.clientWidth, height: CHART_HEIGHT_PX })).observe(
      chart.element,
    );
  }
  return view;
}

function showStatus(view, status) {
  const badge = view.card.querySelector('.badge');
  badge.dataset.state = status.state;
  badge.textContent = status.state;
  const restarts = status.restarts === 1 ? '1 restart' : `${status.restarts} restarts`;
  view.card.querySelector('.camera-since').textContent = `since ${formatWallTime(Date.parse(status.since) / 1000)} · ${restarts}`;
  const error = view.card.querySelector('.camera-error');
  error.hidden = !status.detail;
  error.textContent = status.detail ?? '';
}

function addWindow(view, releasedWindow) {
  view.windows.set(releasedWindow.startSeconds, releasedWindow);
  if (view.windows.size > MAX_WINDOWS_PER_CAMERA) {
    const oldest = Math.min(...view.windows.keys());
    view.windows.delete(oldest);
  }
  // A replay brings dozens of windows in one burst: draw once per animation frame, not once per message.
  if (!view.renderPending) {
    view.renderPending = true;
    requestAnimationFrame(() => {
      view.renderPending = false;
      render(view);
    });
  }
}

function vehicleCrossings(classes) {
  if (classes.vehicle) return classes.vehicle;
  const present = VEHICLE_CLASSES.map((name) => classes[name]).filter(Boolean);
  if (present.length === 0) return undefined;
  return {
    forward: present.reduce((sum, c) => sum + c.forward, 0),
    backward: present.reduce((sum, c) => sum + c.backward, 0),
  };
}

/** Columns for uPlot: x, then per name a solid series (first value) and a dashed one (second). */
function pairedColumns(windows, names, valuesOf) {
  const columns = [windows.map((w) => w.startSeconds)];
  for (const name of names) {
    const pairs = windows.map((w) => (w.status === 'released' ? valuesOf(w, name) : undefined));
    columns.push(pairs.map((p) => (p ? p[0] : null)), pairs.map((p) => (p ? p[1] : null)));
  }
  return columns;
}

function render(view) {
  const windows = [...view.windows.values()].sort((a, b) => a.startSeconds - b.startSeconds);
  const latest = windows.at(-1);
  if (!latest) return;
  const clock = latest.clock;
  const zoneNames = [...new Set(windows.flatMap((w) => Object.keys(w.zones)))].sort();
  const lineNames = [...new Set(windows.flatMap((w) => Object.keys(w.lines)))].sort();

  const crowdColumns = pairedColumns(windows, zoneNames, (w, zone) => {
    const person = w.zones[zone]?.classes.person;
    return person && [person.meanOccupancy, person.peakOccupancy];
  });
  const trafficColumns = pairedColumns(windows, lineNames, (w, line) => {
    const vehicles = w.lines[line] && vehicleCrossings(w.lines[line].classes);
    return vehicles && [vehicles.forward, vehicles.backward];
  });
  drawChart(view.crowd, clock, zoneNames, ['mean', 'peak'], 'persons', crowdColumns, false);
  drawChart(view.traffic, clock, lineNames, ['forward', 'backward'], 'vehicles', trafficColumns, true);

  const released = windows.filter((w) => w.status === 'released');
  const lastReleased = released.at(-1);
  view.card.querySelector('.crowd-headline').innerHTML = lastReleased
    ? headline(sumOver(zoneNames, (z) => lastReleased.zones[z]?.classes.person?.meanOccupancy), 'persons on average',
        `peak ${sumOver(zoneNames, (z) => lastReleased.zones[z]?.classes.person?.peakOccupancy)}`)
    : '—';
  view.card.querySelector('.traffic-headline').innerHTML = lastReleased
    ? headline(sumOver(lineNames, (l) => crossingsTotal(lastReleased.lines[l])), 'vehicles crossed', 'in the last window')
    : '—';
  showBudget(view, latest);

  const withheld = windows.length - released.length;
  const span = `${formatTime(latest.startSeconds, clock)}–${formatTime(latest.endSeconds, clock)}`;
  const last = latest.status === 'released' ? `released` : `withheld${latest.withheldReason ? ` (${latest.withheldReason})` : ''}`;
  view.card.querySelector('.camera-footer').textContent =
    `Last window ${span}, ${last} · ${windows.length} windows shown` + (withheld ? ` · ${withheld} withheld` : '');
}

function crossingsTotal(line) {
  const vehicles = line && vehicleCrossings(line.classes);
  return vehicles ? vehicles.forward + vehicles.backward : 0;
}

function sumOver(names, valueOf) {
  const total = names.reduce((sum, name) => sum + (valueOf(name) ?? 0), 0);
  return Number.isInteger(total) ? String(total) : total.toFixed(1);
}

function headline(value, unit, aside) {
  return `<strong>${escapeHtml(value)}</strong> ${escapeHtml(unit)} <span class="aside">${escapeHtml(aside)}</span>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function drawChart(chart, clock, names, variants, unit, columns, stepped) {
  chart.element.dataset.points = String(columns[0].length);
  const seriesKey = `${clock}|${names.join('\u0000')}`;
  if (chart.plot && chart.seriesKey === seriesKey) {
    chart.plot.setData(columns);
    return;
  }
  chart.plot?.destroy();
  chart.seriesKey = seriesKey;
  const paths = stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  const series = [{ label: clock === 'wall' ? 'time' : 'clip time', value: (_, x) => (x == null ? '—' : formatTime(x, clock)) }];
  names.forEach((name, i) => {
    const colour = PALETTE[i % PALETTE.length];
    variants.forEach((variant, v) => {
      series.push({
        label: `${name} · ${variant}`,
        stroke: colour,
        width: v === 0 ? 2 : 1.5,
        dash: v === 0 ? undefined : DASHED,
        fill: v === 0 && !stepped ? `${colour}22` : undefined,
        paths,
        points: { show: false },
        spanGaps: false,
        value: (_, y) => (y == null ? '—' : `${Number.isInteger(y) ? y : y.toFixed(1)} ${unit}`),
      });
    });
  });
  const axisColour = '#8a94a8';
  const gridColour = 'rgba(138, 148, 168, 0.14)';
  chart.plot = new uPlot(
    {
      width: chart.element.clientWidth || 400,
      height: CHART_HEIGHT_PX,
      scales: {
        x: { time: clock === 'wall' },
        y: { range: (_, __, max) => [0, Math.max(1, Math.ceil((max ?? 0) * 1.15))] },
      },
      axes: [
        {
          stroke: axisColour,
          grid: { stroke: gridColour },
          ticks: { stroke: gridColour },
          ...(clock === 'clip' ? { values: (_, ticks) => ticks.map((t) => formatTime(t, 'clip')) } : {}),
        },
        { stroke: axisColour, grid: { stroke: gridColour }, ticks: { stroke: gridColour }, size: 44 },
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      series,
    },
    columns,
    chart.element,
  );
}

function showBudget(view, releasedWindow) {
  const { budget, mechanism, epsilon, rhoSeconds } = releasedWindow.privacy;
  const fractionLeft = budget.epsilonPerPeriod > 0 ? Math.min(1, budget.epsilonLeft / budget.epsilonPerPeriod) : 0;
  const gauge = view.card.querySelector('.gauge');
  gauge.dataset.level = fractionLeft > 0.5 ? 'ok' : fractionLeft > 0.2 ? 'low' : 'critical';
  gauge.querySelector('.gauge-fill').setAttribute('stroke-dasharray', `${(fractionLeft * 100).toFixed(2)} 100`);
  gauge.querySelector('.gauge-value').textContent = formatEpsilon(budget.epsilonLeft);
  gauge.querySelector('.gauge-unit').textContent = `ε left of ${formatEpsilon(budget.epsilonPerPeriod)}`;
  gauge.setAttribute('aria-label', `privacy budget: ${formatEpsilon(budget.epsilonLeft)} of ${formatEpsilon(budget.epsilonPerPeriod)} epsilon left`);
  const terms = [
    ['period', formatDuration(budget.periodSeconds)],
    ['spent', `ε ${formatEpsilon(budget.epsilonSpent)}`],
    ['per window', `ε ${formatEpsilon(epsilon)}`],
    ['protects', rhoSeconds > 0 ? `visits ≤ ${formatDuration(rhoSeconds)}` : 'one window'],
    ['noise', mechanism],
  ];
  view.card.querySelector('.budget-terms').replaceChildren(
    ...terms.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

function formatEpsilon(value) {
  return value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}

function formatDuration(seconds) {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function formatWallTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Clip windows count seconds from the clip's start (m:ss); live windows are Unix time. */
function formatTime(seconds, clock) {
  if (clock === 'wall') return formatWallTime(seconds);
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

tokenButton.addEventListener('click', () => {
  askForToken();
});

connect(feedToken());
