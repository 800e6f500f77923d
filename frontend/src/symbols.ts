// Images for the map's symbol layers, drawn on demand (maplibre's `styleimagemissing`):
// MIL-STD-2525 symbols from milsymbol, callsign labels, cluster counts and the heading
// leader. Text is drawn here, in a canvas with the page's fonts, because the offline
// map has no glyph server (and canvas text renders Japanese with the system CJK font).

import type maplibregl from "maplibre-gl";
import ms from "milsymbol";

const UNKNOWN_SIDC = "SUZP-----------";
const SYMBOL_SIZE = 26;
const LABEL_FONT = "600 12px 'Noto Sans', 'Noto Sans CJK JP', system-ui, sans-serif";
export const SHAPE_DOT = "dot";
export const LEADER = "leader";

export interface Size {
  w: number; // CSS pixels
  h: number;
}

const sizes = new Map<string, Size>();

export function drawSymbol(
  sidc: string | null,
  label: string,
): { canvas: HTMLCanvasElement; anchor: { x: number; y: number } } {
  // Non-atom CoT (points, routes…) has no 2525 code: draw a neutral unknown marker.
  const symbol = new ms.Symbol(sidc ?? UNKNOWN_SIDC, {
    size: SYMBOL_SIZE,
    uniqueDesignation: label,
    infoColor: "#e8eef4",
    infoSize: 44,
    outlineWidth: 3,
    outlineColor: "rgba(6, 12, 18, 0.9)",
  });
  const scale = window.devicePixelRatio || 1;
  const canvas = symbol.asCanvas(scale);
  const size = symbol.getSize();
  canvas.style.width = `${size.width}px`;
  canvas.style.height = `${size.height}px`;
  return { canvas, anchor: symbol.getAnchor() };
}

export function iconId(sidc: string | null): string {
  return `sym:${sidc ?? UNKNOWN_SIDC}`;
}

export function labelId(text: string): string {
  return `lbl:${text}`;
}

/** The size an image has (or will have) on the map, for hit boxes and label offsets. */
export function sizeOf(id: string): Size {
  let size = sizes.get(id);
  if (!size) {
    const canvas = render(id);
    size = canvas ? { w: canvas.width / ratio(), h: canvas.height / ratio() } : { w: 0, h: 0 };
  }
  return size;
}

function ratio(): number {
  return window.devicePixelRatio || 1;
}

/** A symbol centred on its anchor, so the map's `icon-anchor: center` is the position. */
function symbolCanvas(sidc: string): HTMLCanvasElement {
  const symbol = new ms.Symbol(sidc, {
    size: SYMBOL_SIZE,
    outlineWidth: 3,
    outlineColor: "rgba(6, 12, 18, 0.9)",
  });
  const source = symbol.asCanvas(ratio());
  const { x, y } = symbol.getAnchor();
  const { width, height } = symbol.getSize();
  const half = { x: Math.max(x, width - x), y: Math.max(y, height - y) };
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(half.x * 2 * ratio());
  canvas.height = Math.ceil(half.y * 2 * ratio());
  canvas.getContext("2d")?.drawImage(source, (half.x - x) * ratio(), (half.y - y) * ratio());
  return canvas;
}

function labelCanvas(text: string): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  if (!ctx) return canvas;
  ctx.font = LABEL_FONT;
  const width = Math.ceil(ctx.measureText(text).width) + 8;
  const height = 18;
  canvas.width = width * ratio();
  canvas.height = height * ratio();
  ctx.scale(ratio(), ratio());
  ctx.fillStyle = "rgba(6, 12, 18, 0.72)";
  ctx.beginPath();
  ctx.roundRect(0, 0, width, height, 3);
  ctx.fill();
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#e8eef4";
  ctx.fillText(text, 4, height / 2 + 0.5);
  return canvas;
}

function clusterCanvas(count: string): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  const size = count.length > 3 ? 44 : 36;
  canvas.width = canvas.height = size * ratio();
  if (!ctx) return canvas;
  ctx.scale(ratio(), ratio());
  ctx.fillStyle = "rgba(128, 224, 255, 0.85)";
  ctx.strokeStyle = "rgba(6, 12, 18, 0.9)";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(size / 2, size / 2, size / 2 - 2, 0, Math.PI * 2);
  ctx.fill();
  ctx.stroke();
  ctx.font = "700 13px 'Noto Sans', system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#06121a";
  ctx.fillText(count, size / 2, size / 2 + 0.5);
  return canvas;
}

function leaderCanvas(): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  canvas.width = 6 * ratio();
  canvas.height = 80 * ratio(); // a 40 px leader from the centre, drawn in the top half
  if (!ctx) return canvas;
  ctx.scale(ratio(), ratio());
  ctx.fillStyle = "rgba(6, 12, 18, 0.9)";
  ctx.fillRect(1, 0, 4, 40);
  ctx.fillStyle = "#e8eef4";
  ctx.fillRect(2, 1, 2, 39);
  return canvas;
}

function dotCanvas(): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  canvas.width = canvas.height = 12 * ratio();
  if (!ctx) return canvas;
  ctx.scale(ratio(), ratio());
  ctx.fillStyle = "#e8eef4";
  ctx.strokeStyle = "rgba(6, 12, 18, 0.9)";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(6, 6, 4, 0, Math.PI * 2);
  ctx.fill();
  ctx.stroke();
  return canvas;
}

function render(id: string): HTMLCanvasElement | null {
  const [kind, ...rest] = id.split(":");
  const value = rest.join(":");
  let canvas: HTMLCanvasElement | null = null;
  if (kind === "sym") canvas = symbolCanvas(value || UNKNOWN_SIDC);
  else if (kind === "lbl") canvas = labelCanvas(value);
  else if (kind === "cl") canvas = clusterCanvas(value);
  else if (id === LEADER) canvas = leaderCanvas();
  else if (id === SHAPE_DOT) canvas = dotCanvas();
  if (canvas) sizes.set(id, { w: canvas.width / ratio(), h: canvas.height / ratio() });
  return canvas;
}

/** Give the map the image it asked for; symbols it cannot draw fall back to "unknown". */
export function provideImages(map: maplibregl.Map): void {
  map.on("styleimagemissing", (event: { id: string }) => {
    if (map.hasImage(event.id)) return;
    let canvas: HTMLCanvasElement | null;
    try {
      canvas = render(event.id);
    } catch {
      canvas = render(iconId(null));
    }
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx || canvas.width === 0) return;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
    map.addImage(event.id, data, { pixelRatio: ratio() });
  });
}
