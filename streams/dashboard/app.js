/**
 * Veil's reference dashboard: connects to /feed, keeps each camera's recent released windows and draws them with
 * uPlot (loaded as the global `uPlot` by index.html). Plain ES module, no build step.
 *
 * It only ever sees what the feed sends: noised per-window aggregates and camera states. A camera may release
 * several series (e.g. occupancy per 60 s, crossings per 900 s): the crowd chart draws the shortest series holding
 * zones, the traffic chart the shortest holding lines. Values are unbiased and may be negative; each is drawn with
 * its 95% interval (± 1.96 s.d., the s.d. its window's privacy block states), and a sum of values (zones, classes)
 * carries √(Σ s.d.²). Only a finished figure is clamped at 0, for display.
 *
 * On `veil aggregate`'s feed it also shows districts (the latest total of each district, window length and method,
 * whose figures come with their s.d. already summed; a total by secure aggregation is marked as such), the fleet
 * accuracy table, and from /healthz the fleet's problems (a box whose district settings differ from city.yaml, two boxes publishing one camera).
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
/** A normal's two-sided 95% quantile: the bands drawn are value ± 1.96 s.d. */
const Z_95 = 1.96;
const STATISTIC_NAMES = { crossings: 'crossings', peakOccupancy: 'peak occupancy', meanOccupancy: 'mean occupancy' };
/** Drift changes once per drift window (an hour by default): /healthz is read this often, not pushed on the feed. */
const HEALTH_POLL_MS = 30_000;

const cameras = new Map();
/** The latest district total per district and window length; a total is sent again as its cameras arrive. */
const districts = new Map();
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
  } else if (message.type === 'district') {
    const total = message.district;
    // A district may be totalled both ways (its cameras' releases summed, and a secure round of its boxes): a row each.
    const key = `${total.district}\u0000${total.windowSeconds}\u0000${totalMethod(total)}`;
    const shown = districts.get(key);
    // A late camera's window updates an older total; the row shows the latest window of the series.
    if (!shown || total.startSeconds >= shown.startSeconds) districts.set(key, total);
    showDistricts();
  } else if (message.type === 'accuracy') {
    showAccuracy(message.cameras);
  }
}

function tableRow(cells) {
  const row = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    const [text, data] = Array.isArray(cell) ? cell : [cell];
    td.textContent = text;
    for (const [key, value] of Object.entries(data ?? {})) td.dataset[key] = value;
    row.append(td);
  }
  return row;
}

/** Vehicles from a district's cells: the category when cameras release it, plus any vehicle classes released apart. */
function districtVehicles(crossings, direction) {
  const cells = ['vehicle', ...VEHICLE_CLASSES].map((name) => crossings[name]?.[direction]).filter(Boolean);
  return cells.length ? sumFigures(cells.map((cell) => ({ value: cell.value, sd: cell.standardDeviation }))) : undefined;
}

function districtFigure(cell) {
  return cell ? formatFigure({ value: cell.value, sd: cell.standardDeviation }) : '—';
}

/** 'secure' for a total by secure aggregation (only the sum of masked vectors was seen), 'sum' for one of releases. */
function totalMethod(total) {
  return total.secureAggregation ? 'secure' : 'sum';
}

/** How the total was made, as the method cell says it: by secure aggregation with its ε and δ, or a plain sum. */
function methodText(total) {
  const secure = total.secureAggregation;
  if (!secure) return 'sum of the cameras\' releases';
  const stated = `secure aggregation, ε ${secure.epsilon}, δ ${secure.delta}`;
  return secure.status === 'withheld' ? `${stated} · withheld: ${secure.withheldReason ?? 'no reason given'}` : stated;
}

/**
 * Who is in the total. A secure round's `cameras` name boxes, and a box missing from it dropped out of the round
 * (it is final without it), or was kept out, with the reason; a plain sum's missing cameras may still arrive.
 */
function membersText(total) {
  const { released, withheld, missing } = total.cameras;
  if (total.secureAggregation) {
    if (total.secureAggregation.status === 'withheld') return `round withheld (${withheld.length} boxes)`;
    const reasons = new Map((total.secureAggregation.keptOut ?? []).map(({ box, reason }) => [box, reason]));
    const absent = missing.map((box) => (reasons.has(box) ? `${box} (${reasons.get(box)})` : box));
    return `${released.length} boxes in the sum` + (absent.length ? `, without ${absent.join(', ')}` : '');
  }
  return `${released.length} released` + (withheld.length ? `, ${withheld.length} withheld` : '') + (missing.length ? `, waiting for ${missing.join(', ')}` : '');
}

/**
 * The latest total of each district, window length and method: complete, or which cameras it still waits for. A
 * total by secure aggregation is marked apart (data-method="secure"), with its ε and δ.
 */
function showDistricts() {
  const section = document.getElementById('districts');
  section.hidden = false;
  const rows = [...districts.values()]
    .sort((a, b) => a.district.localeCompare(b.district) || a.windowSeconds - b.windowSeconds || totalMethod(a).localeCompare(totalMethod(b)))
    .map((total) => {
      const forward = districtVehicles(total.crossings, 'forward');
      const backward = districtVehicles(total.crossings, 'backward');
      return tableRow([
        total.district,
        [methodText(total), { method: totalMethod(total) }],
        `${formatTime(total.startSeconds, total.clock)}–${formatTime(total.endSeconds, total.clock)} (${formatDuration(total.windowSeconds)})`,
        forward ? formatFigure(forward) : '—',
        backward ? formatFigure(backward) : '—',
        districtFigure(total.peakOccupancy.person),
        districtFigure(total.meanOccupancy.person),
        [membersText(total), { complete: String(total.complete) }],
      ]);
    });
  section.querySelector('tbody').replaceChildren(...rows);
}

function showAccuracy(evaluations) {
  const section = document.getElementById('accuracy');
  section.hidden = evaluations.length === 0;
  const rows = evaluations.flatMap((evaluation) =>
    evaluation.lines.map((line) =>
      tableRow([
        evaluation.camera,
        formatWallTime(Date.parse(evaluation.evaluatedAt) / 1000),
        formatDuration(Math.round(evaluation.clipSeconds)),
        String(evaluation.fps),
        line.line,
        line.category,
        `${line.error >= 0 ? '+' : ''}${line.error}`,
        `± ${line.tolerance}`,
        [line.withinTolerance ? 'OK' : 'outside tolerance', { verdict: line.withinTolerance ? 'ok' : 'outside' }],
      ]),
    ),
  );
  section.querySelector('tbody').replaceChildren(...rows);
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

/**
 * The cameras' drift, from /healthz (which shows it with the feed token): the population stability index of the
 * latest released drift window's noised histograms against the camera's baseline, or why there is none; and on
 * `veil aggregate`, its fleet problems.
 */
async function pollHealth(token) {
  try {
    const response = await fetch('/healthz', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (response.ok || response.status === 503) {
      const health = await response.json();
      for (const camera of health.cameras ?? []) if (camera.drift) showDrift(cameraView(camera.camera), camera.drift);
      showFleetProblems(health.fleetProblems ?? []);
    }
  } catch {
    // The feed's connection line already says when the box cannot be reached.
  }
  setTimeout(() => pollHealth(sessionStorage.getItem(TOKEN_STORAGE_KEY) ?? token), HEALTH_POLL_MS);
}

/**
 * `veil aggregate`'s fleet problems (district settings that differ, window conflicts on a camera), one line each
 * saying what is wrong and how to fix it; hidden when none.
 */
function showFleetProblems(problems) {
  const section = document.getElementById('fleet-problems');
  section.hidden = problems.length === 0;
  const items = problems.map((problem) => {
    const item = document.createElement('li');
    item.textContent = problem.message;
    item.dataset.box = problem.box ?? '';
    item.dataset.field = problem.field ?? '';
    item.dataset.camera = problem.camera ?? '';
    return item;
  });
  section.querySelector('ul').replaceChildren(...items);
}

function showDrift(view, drift) {
  const line = view.card.querySelector('.camera-drift');
  const window = `${formatWallTime(Date.parse(drift.windowStart) / 1000)}–${formatWallTime(Date.parse(drift.windowEnd) / 1000)}`;
  const reading = drift.psi ? `PSI scores ${drift.psi.score.toFixed(2)}, box sizes ${drift.psi.size.toFixed(2)} (threshold ${drift.threshold})` : (drift.note ?? '');
  line.textContent = drift.warning ?? `Drift ${window}: ${reading} · baseline ${drift.baseline}`;
  line.dataset.warning = String(Boolean(drift.warning));
  line.hidden = false;
}

function addWindow(view, releasedWindow) {
  // Series of different lengths start at the same instants: a window is known by its length and its start.
  view.windows.set(`${releasedWindow.windowSeconds}@${releasedWindow.startSeconds}`, releasedWindow);
  if (view.windows.size > MAX_WINDOWS_PER_CAMERA) {
    const [oldest] = [...view.windows.entries()].reduce((a, b) => (b[1].startSeconds < a[1].startSeconds ? b : a));
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
 * or crossings forward and backward. `describe` turns one window's pair of figures into the legend's text.
 */
const CHART_KINDS = {
  crowd: {
    stepped: false,
    describe: (mean, peak) => `${formatFigure(mean)} avg · ${formatFigure(peak)} peak`,
  },
  traffic: {
    stepped: true,
    describe: (forward, backward) => `${formatFigure(forward)} fwd · ${formatFigure(backward)} back`,
  },
};

/** The windows of the shortest series that holds `part` ('zones' or 'lines'), oldest first. */
function shortestSeries(windows, part) {
  const lengths = windows.filter((w) => Object.keys(w[part]).length > 0).map((w) => w.windowSeconds);
  if (lengths.length === 0) return [];
  const length = Math.min(...lengths);
  return windows.filter((w) => w.windowSeconds === length);
}

function render(view) {
  const windows = [...view.windows.values()].sort((a, b) => a.endSeconds - b.endSeconds || a.windowSeconds - b.windowSeconds);
  const latest = windows.at(-1);
  if (!latest) return;
  const crowdWindows = shortestSeries(windows, 'zones');
  const trafficWindows = shortestSeries(windows, 'lines');
  const zoneNames = [...new Set(crowdWindows.flatMap((w) => Object.keys(w.zones)))].sort();
  const lineNames = [...new Set(trafficWindows.flatMap((w) => Object.keys(w.lines)))].sort();

  const crowdColumns = pairedFigures(crowdWindows, zoneNames, (w, zone) => {
    const person = w.zones[zone]?.classes.person;
    const terms = w.privacy.statistics;
    return person && [figure(person.meanOccupancy, terms.meanOccupancy), figure(person.peakOccupancy, terms.peakOccupancy)];
  });
  const trafficColumns = pairedFigures(trafficWindows, lineNames, (w, line) => {
    const cells = w.lines[line]?.classes;
    return cells && [vehicleCrossings(cells, 'forward', w), vehicleCrossings(cells, 'backward', w)];
  });
  drawChart(view.crowd, CHART_KINDS.crowd, latest.clock, zoneNames, crowdColumns, withheldSpans(crowdWindows));
  drawChart(view.traffic, CHART_KINDS.traffic, latest.clock, lineNames, trafficColumns, withheldSpans(trafficWindows));

  const lastCrowd = crowdWindows.findLast((w) => w.status === 'released');
  const busiest = lastCrowd && busiestZone(lastCrowd, zoneNames);
  view.card.querySelector('.crowd-headline').replaceChildren(
    ...(lastCrowd
      ? headline(
          formatFigure(sumFigures(zoneNames.map((z) => lastCrowd.zones[z]?.classes.person).filter(Boolean).map((person) => figure(person.meanOccupancy, lastCrowd.privacy.statistics.meanOccupancy)))),
          'persons on average',
          busiest ? `last ${formatDuration(lastCrowd.windowSeconds)} · busiest: ${busiest.zone}, peak ${formatFigure(busiest.peak)}` : `last ${formatDuration(lastCrowd.windowSeconds)}`,
        )
      : headline('—', 'no released window yet', '')),
  );
  const lastTraffic = trafficWindows.findLast((w) => w.status === 'released');
  view.card.querySelector('.traffic-headline').replaceChildren(
    ...(lastTraffic
      ? headline(
          formatFigure(sumFigures(lineNames.flatMap((l) => (lastTraffic.lines[l] ? ['forward', 'backward'].map((d) => vehicleCrossings(lastTraffic.lines[l].classes, d, lastTraffic)) : [])))),
          'vehicles crossed',
          `last ${formatDuration(lastTraffic.windowSeconds)} · all lines, both ways`,
        )
      : headline('—', 'no released window yet', '')),
  );
  showBudget(view, latest, windows);

  const span = `${formatTime(latest.startSeconds, latest.clock)}–${formatTime(latest.endSeconds, latest.clock)}`;
  const outcome =
    latest.status === 'released' ? 'released' : `withheld${latest.withheldReason ? ` (${latest.withheldReason})` : ''}`;
  const withheldCount = windows.filter((w) => w.status === 'withheld').length;
  view.card.querySelector('.camera-footer').textContent =
    `Last window ${span}, ${outcome} · ${windows.length} windows shown` + (withheldCount ? ` · ${withheldCount} withheld` : '');
}

function withheldSpans(windows) {
  return windows.filter((w) => w.status === 'withheld').map((w) => [w.startSeconds, w.endSeconds]);
}

/** A released value with its noise's s.d. (0 when the window states none: nothing was noised). */
function figure(value, terms) {
  return { value, sd: terms?.standardDeviation ?? 0 };
}

/** Independent draws: values add, variances add (stages/privacy/figures.ts, which a browser module cannot import). */
function sumFigures(figures) {
  return {
    value: figures.reduce((sum, f) => sum + f.value, 0),
    sd: Math.sqrt(figures.reduce((sum, f) => sum + f.sd ** 2, 0)),
  };
}

/** Vehicles over a line in one direction: the category when released as one, else its classes summed. */
function vehicleCrossings(classes, direction, releasedWindow) {
  const cells = classes.vehicle ? [classes.vehicle] : VEHICLE_CLASSES.map((name) => classes[name]).filter(Boolean);
  return sumFigures(cells.map((cell) => figure(cell[direction], releasedWindow.privacy.statistics.crossings)));
}

/** Zone peaks happen at different moments, so they are not summed: the headline names the largest one. */
function busiestZone(releasedWindow, zoneNames) {
  let busiest;
  for (const zone of zoneNames) {
    const person = releasedWindow.zones[zone]?.classes.person;
    if (person?.peakOccupancy === undefined) continue;
    const peak = figure(person.peakOccupancy, releasedWindow.privacy.statistics.peakOccupancy);
    if (!busiest || peak.value > busiest.peak.value) busiest = { zone, peak };
  }
  return busiest;
}

/**
 * Columns for uPlot: window starts, then per name a solid series (first value) and a dashed one (second); beside
 * them, the same layout of s.d.s for the bands and the legend.
 */
function pairedFigures(windows, names, figuresOf) {
  const columns = [windows.map((w) => w.startSeconds)];
  const deviations = [null];
  const ends = windows.map((w) => w.endSeconds);
  for (const name of names) {
    const pairs = windows.map((w) => (w.status === 'released' ? figuresOf(w, name) : undefined));
    for (const side of [0, 1]) {
      columns.push(pairs.map((p) => (p?.[side] ? p[side].value : null)));
      deviations.push(pairs.map((p) => (p?.[side] ? p[side].sd : null)));
    }
  }
  return { columns, deviations, ends };
}

/** "412 ± 2.7": the value clamped at 0 for display (after any summing), and its s.d. to two significant digits. */
function formatFigure({ value, sd }) {
  const shown = Math.max(0, Number.isInteger(value) ? value : Number(value.toFixed(1)));
  return sd > 0 ? `${shown} ± ${Number(sd.toPrecision(2))}` : String(shown);
}

function headline(value, unit, aside) {
  const strong = document.createElement('strong');
  strong.textContent = value;
  const note = document.createElement('span');
  note.className = 'aside';
  note.textContent = aside;
  return [strong, ` ${unit} `, note];
}

function drawChart(chart, kind, clock, names, data, withheld) {
  chart.element.dataset.points = String(data.columns[0].length);
  chart.data = data;
  chart.withheld = withheld;
  chart.yRange = valueRange(data);
  chart.element.dataset.yMin = String(chart.yRange[0]);
  const plotted = kind.stepped ? withClosingStep(data) : data.columns;
  const seriesKey = `${clock}|${names.join('\u0000')}`;
  if (chart.plot && chart.seriesKey === seriesKey) {
    chart.plot.setData(plotted);
  } else {
    chart.plot?.destroy();
    chart.seriesKey = seriesKey;
    chart.legendItems = createLegend(chart, names);
    chart.plot = createPlot(chart, kind, clock, names, plotted);
  }
  updateLegend(chart, kind, clock, null);
}

/** A step holds its value until the next window starts: one more point at the last window's end draws its step too. */
function withClosingStep({ columns, ends }) {
  if (columns[0].length === 0) return columns;
  return columns.map((column, s) => [...column, s === 0 ? ends.at(-1) : column.at(-1)]);
}

/** From 0, or below it when a value's 95% interval reaches below 0 (noised values may), to above the highest. */
function valueRange({ columns, deviations }) {
  let low = 0;
  let high = 4;
  for (let s = 1; s < columns.length; s += 1) {
    columns[s].forEach((value, i) => {
      if (value == null) return;
      low = Math.min(low, value - Z_95 * deviations[s][i]);
      high = Math.max(high, value + Z_95 * deviations[s][i]);
    });
  }
  return [low < 0 ? Math.floor(low * 1.1) : 0, Math.ceil(high * 1.1)];
}

function createPlot(chart, kind, clock, names, columns) {
  const paths = kind.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  const series = [{}];
  names.forEach((_, i) => {
    const colour = PALETTE[i % PALETTE.length];
    series.push(
      { stroke: colour, width: 2, paths, points: { show: false } },
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
        y: { range: () => chart.yRange },
      },
      axes: [
        { ...axis, ...(clock === 'clip' ? { values: (_, ticks) => ticks.map((t) => formatTime(t, 'clip')) } : {}) },
        // Counts of people and vehicles: whole-number ticks only.
        { ...axis, size: 44, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
      ],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: false },
      series,
      hooks: {
        drawClear: [(plot) => shadeWithheld(plot, chart.withheld), (plot) => drawIntervals(plot, chart.data, kind.stepped)],
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

/**
 * Each value's 95% interval, behind the lines: a band through the points (occupancy), or a box over each window
 * (crossings, drawn as steps); lighter for the dashed series. A withheld window breaks the band.
 */
function drawIntervals(plot, { columns, deviations, ends }, stepped) {
  const { ctx, bbox } = plot;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  for (let s = 1; s < columns.length; s += 1) {
    ctx.fillStyle = `${PALETTE[Math.floor((s - 1) / 2) % PALETTE.length]}${s % 2 === 1 ? '2e' : '18'}`;
    const upper = (i) => plot.valToPos(columns[s][i] + Z_95 * deviations[s][i], 'y', true);
    const lower = (i) => plot.valToPos(columns[s][i] - Z_95 * deviations[s][i], 'y', true);
    const x = (seconds) => plot.valToPos(seconds, 'x', true);
    if (stepped) {
      columns[s].forEach((value, i) => {
        if (value != null && deviations[s][i] > 0) ctx.fillRect(x(columns[0][i]), upper(i), x(ends[i]) - x(columns[0][i]), lower(i) - upper(i));
      });
      continue;
    }
    let run = [];
    const fillRun = () => {
      if (run.length > 0) {
        ctx.beginPath();
        run.forEach((i, k) => (k === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, x(columns[0][i]), upper(i)));
        [...run].reverse().forEach((i) => ctx.lineTo(x(columns[0][i]), lower(i)));
        ctx.closePath();
        ctx.fill();
      }
      run = [];
    };
    columns[s].forEach((value, i) => (value != null && deviations[s][i] > 0 ? run.push(i) : fillRun()));
    fillRun();
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
  const { columns, deviations } = chart.data;
  // A stepped chart's closing point (withClosingStep) belongs to its last window.
  const index = Math.min(cursorIndex ?? Infinity, columns[0].length - 1);
  chart.legendItems.withheldKey.hidden = chart.withheld.length === 0;
  if (index < 0) return;
  chart.legendItems.time.textContent = cursorIndex == null ? 'latest' : formatTime(columns[0][index], clock);
  chart.legendItems.values.forEach((value, i) => {
    const [solid, dashed] = [1 + 2 * i, 2 + 2 * i].map((s) => columns[s][index] == null ? null : { value: columns[s][index], sd: deviations[s][index] });
    value.textContent = solid == null ? 'withheld' : kind.describe(solid, dashed);
  });
}

/**
 * The privacy panel: the gauge shows how much of the ε protecting one visit the footage of the latest window has
 * been charged (the ledger's most-charged event touching it); the terms give each released statistic's ε and s.d.
 * per value, from each series' latest released window, and the period cap when there is one.
 */
function showBudget(view, latestWindow, windows) {
  const { budget, mechanism, eventReachSeconds } = latestWindow.privacy;
  const fractionSpent = budget.epsilonPerEvent > 0 ? Math.min(1, budget.epsilonSpent / budget.epsilonPerEvent) : 0;
  const gauge = view.card.querySelector('.gauge');
  gauge.dataset.level = latestWindow.status === 'withheld' ? 'critical' : 'ok';
  gauge.querySelector('.gauge-fill').setAttribute('stroke-dasharray', `${(fractionSpent * 100).toFixed(2)} 100`);
  gauge.querySelector('.gauge-value').textContent = formatEpsilon(budget.epsilonSpent);
  gauge.querySelector('.gauge-unit').textContent = `ε spent of ${formatEpsilon(budget.epsilonPerEvent)} per visit`;
  gauge.setAttribute('aria-label', `privacy budget: ${formatEpsilon(budget.epsilonSpent)} of ${formatEpsilon(budget.epsilonPerEvent)} epsilon per visit spent on the latest window's footage`);
  const terms = [
    // A visit of up to ρ, plus the time the tracker may coast on a lost object.
    ['protects visits', `≤ ${formatDuration(eventReachSeconds)}`],
    ['mechanism', mechanism.replace('discrete-', 'discrete ')],
    ['ε left per visit', formatEpsilon(budget.epsilonLeft)],
  ];
  if (budget.periodSeconds !== undefined) {
    terms.push(['period', `ε ${formatEpsilon(budget.epsilonSpentInPeriod ?? 0)} of ${formatEpsilon(budget.epsilonPerPeriod ?? 0)} per ${formatDuration(budget.periodSeconds)}`]);
  }
  const latestByLength = new Map();
  for (const w of windows) if (w.status === 'released') latestByLength.set(w.windowSeconds, w);
  for (const [windowSeconds, w] of [...latestByLength.entries()].sort(([a], [b]) => a - b)) {
    for (const [statistic, stated] of Object.entries(w.privacy.statistics)) {
      terms.push([`${STATISTIC_NAMES[statistic] ?? statistic} / ${formatDuration(windowSeconds)}`, `ε ${formatEpsilon(stated.epsilon)} · ± ${Number(stated.standardDeviation.toPrecision(2))}`]);
    }
  }
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
  if (value === 0) return '0';
  return value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}

function formatDuration(seconds) {
  if (seconds === 0) return '0 s';
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

const token = feedToken();
connect(token);
pollHealth(token);
