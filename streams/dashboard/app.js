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
const AXIS_COLOUR = '#8a94a8';
const GRID_COLOUR = 'rgba(138, 148, 168, 0.14)';
const WITHHELD_COLOUR = 'rgba(255, 93, 115, 0.09)';

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

/**
 * The two charts of a card. Each draws, per zone or line, a solid series and a dashed one: mean and peak occupancy,
 * or crossings forward and backward. `describe` turns one window's pair into the legend's text.
 */
const CHART_KINDS = {
  crowd: {
    stepped: false,
    describe: (mean, peak) => `${formatCount(mean)} avg · ${formatCount(peak)} peak`,
  },
  traffic: {
    stepped: true,
    describe: (forward, backward) => `${formatCount(forward)} fwd · ${formatCount(backward)} back`,
  },
};

function render(view) {
  const windows = [...view.windows.values()].sort((a, b) => a.startSeconds - b.startSeconds);
  const latest = windows.at(-1);
  if (!latest) return;
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
  const withheld = windows.filter((w) => w.status === 'withheld').map((w) => [w.startSeconds, w.endSeconds]);
  drawChart(view.crowd, CHART_KINDS.crowd, latest.clock, zoneNames, crowdColumns, withheld);
  drawChart(view.traffic, CHART_KINDS.traffic, latest.clock, lineNames, trafficColumns, withheld);

  const lastReleased = windows.findLast((w) => w.status === 'released');
  const busiest = lastReleased && busiestZone(lastReleased, zoneNames);
  view.card.querySelector('.crowd-headline').replaceChildren(
    ...(lastReleased
      ? headline(
          sumOver(zoneNames, (z) => lastReleased.zones[z]?.classes.person?.meanOccupancy),
          'persons on average',
          busiest ? `last window · busiest: ${busiest.zone}, peak ${busiest.peak}` : 'last window',
        )
      : headline('—', 'no released window yet', '')),
  );
  view.card.querySelector('.traffic-headline').replaceChildren(
    ...(lastReleased
      ? headline(
          sumOver(lineNames, (l) => crossingsTotal(lastReleased.lines[l])),
          'vehicles crossed',
          'last window · all lines, both ways',
        )
      : headline('—', 'no released window yet', '')),
  );
  showBudget(view, latest);

  const span = `${formatTime(latest.startSeconds, latest.clock)}–${formatTime(latest.endSeconds, latest.clock)}`;
  const outcome =
    latest.status === 'released' ? 'released' : `withheld${latest.withheldReason ? ` (${latest.withheldReason})` : ''}`;
  view.card.querySelector('.camera-footer').textContent =
    `Last window ${span}, ${outcome} · ${windows.length} windows shown` +
    (withheld.length ? ` · ${withheld.length} withheld` : '');
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

/** Zone peaks happen at different moments, so they are not summed: the headline names the largest one. */
function busiestZone(releasedWindow, zoneNames) {
  let busiest;
  for (const zone of zoneNames) {
    const peak = releasedWindow.zones[zone]?.classes.person?.peakOccupancy;
    if (peak !== undefined && (!busiest || peak > busiest.peak)) busiest = { zone, peak };
  }
  return busiest;
}

function crossingsTotal(line) {
  const vehicles = line && vehicleCrossings(line.classes);
  return vehicles ? vehicles.forward + vehicles.backward : 0;
}

/** Columns for uPlot: window starts, then per name a solid series (first value) and a dashed one (second). */
function pairedColumns(windows, names, valuesOf) {
  const columns = [windows.map((w) => w.startSeconds)];
  for (const name of names) {
    const pairs = windows.map((w) => (w.status === 'released' ? valuesOf(w, name) : undefined));
    columns.push(pairs.map((p) => (p ? p[0] : null)), pairs.map((p) => (p ? p[1] : null)));
  }
  return columns;
}

function sumOver(names, valueOf) {
  return formatCount(names.reduce((sum, name) => sum + (valueOf(name) ?? 0), 0));
}

function formatCount(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function headline(value, unit, aside) {
  const strong = document.createElement('strong');
  strong.textContent = value;
  const note = document.createElement('span');
  note.className = 'aside';
  note.textContent = aside;
  return [strong, ` ${unit} `, note];
}

function drawChart(chart, kind, clock, names, columns, withheld) {
  chart.element.dataset.points = String(columns[0].length);
  chart.columns = columns;
  chart.withheld = withheld;
  const seriesKey = `${clock}|${names.join('\u0000')}`;
  if (chart.plot && chart.seriesKey === seriesKey) {
    chart.plot.setData(columns);
  } else {
    chart.plot?.destroy();
    chart.seriesKey = seriesKey;
    chart.legendItems = createLegend(chart, names);
    chart.plot = createPlot(chart, kind, clock, names, columns);
  }
  updateLegend(chart, kind, clock, null);
}

function createPlot(chart, kind, clock, names, columns) {
  const paths = kind.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  // Overlapping fills of several zones turn to mud: only a single zone gets one.
  const filled = !kind.stepped && names.length === 1;
  const series = [{}];
  names.forEach((_, i) => {
    const colour = PALETTE[i % PALETTE.length];
    series.push(
      { stroke: colour, width: 2, fill: filled ? `${colour}26` : undefined, paths, points: { show: false } },
      { stroke: colour, width: 1.5, dash: DASHED, paths, points: { show: false } },
    );
  });
  const axis = { stroke: AXIS_COLOUR, grid: { stroke: GRID_COLOUR, width: 1 }, ticks: { stroke: GRID_COLOUR, width: 1 } };
  return new uPlot(
    {
      width: chart.element.clientWidth || 400,
      height: CHART_HEIGHT_PX,
      scales: {
        x: { time: clock === 'wall' },
        y: { range: (_, __, max) => [0, Math.max(4, Math.ceil((max ?? 0) * 1.15))] },
      },
      axes: [
        { ...axis, ...(clock === 'clip' ? { values: (_, ticks) => ticks.map((t) => formatTime(t, 'clip')) } : {}) },
        // Counts of people and vehicles: whole-number ticks only.
        { ...axis, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
      ],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: false },
      series,
      hooks: {
        drawClear: [(plot) => shadeWithheld(plot, chart.withheld)],
        setCursor: [(plot) => updateLegend(chart, kind, clock, plot.cursor.idx)],
      },
    },
    columns,
    chart.element,
  );
}

/** Withheld windows have no values; a hatched band says "withheld" rather than leaving an unexplained gap. */
function shadeWithheld(plot, withheld) {
  const { ctx, bbox } = plot;
  ctx.save();
  ctx.fillStyle = WITHHELD_COLOUR;
  for (const [startSeconds, endSeconds] of withheld) {
    const left = plot.valToPos(startSeconds, 'x', true);
    const right = plot.valToPos(endSeconds, 'x', true);
    const from = Math.max(left, bbox.left);
    const to = Math.min(right, bbox.left + bbox.width);
    if (to > from) ctx.fillRect(from, bbox.top, to - from, bbox.height);
  }
  ctx.restore();
}

function createLegend(chart, names) {
  const legend = chart.element.nextElementSibling;
  const time = document.createElement('span');
  time.className = 'legend-time';
  const items = names.map((name, i) => {
    const item = document.createElement('span');
    item.className = 'legend-item';
    item.style.setProperty('--swatch', PALETTE[i % PALETTE.length]);
    const label = document.createElement('span');
    label.className = 'legend-name';
    label.textContent = name;
    const value = document.createElement('span');
    value.className = 'legend-value';
    item.append(label, value);
    return value;
  });
  const withheldKey = document.createElement('span');
  withheldKey.className = 'legend-withheld';
  withheldKey.textContent = 'withheld';
  legend.replaceChildren(time, ...items.map((value) => value.parentElement), withheldKey);
  return { time, values: items, withheldKey };
}

/** The legend shows the window under the cursor, or the latest window when the cursor is elsewhere. */
function updateLegend(chart, kind, clock, cursorIndex) {
  const columns = chart.columns;
  const index = cursorIndex ?? columns[0].length - 1;
  chart.legendItems.withheldKey.hidden = chart.withheld.length === 0;
  if (index < 0) return;
  chart.legendItems.time.textContent = cursorIndex == null ? 'latest' : formatTime(columns[0][index], clock);
  chart.legendItems.values.forEach((value, i) => {
    const solid = columns[1 + 2 * i][index];
    const dashed = columns[2 + 2 * i][index];
    value.textContent = solid == null ? 'withheld' : kind.describe(solid, dashed);
  });
}

function showBudget(view, releasedWindow) {
  const { budget, mechanism, epsilon, rhoSeconds, noiseStandardDeviation } = releasedWindow.privacy;
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
    ['noise', noiseStandardDeviation == null ? mechanism : `${mechanism}, ± ${noiseStandardDeviation} (1 s.d.)`],
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
