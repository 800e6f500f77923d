// Items as GeoJSON features for the map's sources: one point per item (symbol and
// label), and the geometry of drawings (ATAK's u-d-f lines and polygons, u-d-r
// rectangles, u-d-c-c circles and range rings) as the server sent it in `shape`.

import type { Feature, LineString, Point, Polygon } from "geojson";
import { iconId, labelId, SHAPE_DOT, sizeOf } from "./symbols";
import { sidcFor } from "./sidc";
import type { Item } from "./types";

export type Affiliation = "friend" | "hostile" | "neutral" | "unknown" | "other";

const AFFILIATIONS: Record<string, Affiliation> = {
  f: "friend",
  a: "friend",
  d: "friend",
  m: "friend",
  h: "hostile",
  s: "hostile",
  j: "hostile",
  k: "hostile",
  n: "neutral",
  l: "neutral",
  u: "unknown",
  p: "unknown",
  o: "unknown",
  x: "unknown",
};

export function affiliationOf(item: Item): Affiliation {
  const parts = item.type.split("-");
  if (parts[0] !== "a") return "other";
  return AFFILIATIONS[(parts[1] ?? "").toLowerCase()] ?? "unknown";
}

export function isDrawing(item: Item): boolean {
  // u-d-… drawings and ATAK's range-and-bearing tools (u-r-b-c-c, u-r-b-bullseye, u-rb-a):
  // whatever the server read a shape from.
  return item.type.startsWith("u-") && Boolean(item.shape);
}

export function labelOf(item: Item): string {
  return item.callsign || item.uid;
}

export interface PointProps {
  uid: string;
  icon: string;
  label: string;
  hw: number; // half the icon's width: the label starts beside it
  course: number;
  heading: number; // 1 when a course is known
  fade: number;
}

export function pointFeature(item: Item, fading: boolean): Feature<Point, PointProps> {
  const icon = isDrawing(item) ? SHAPE_DOT : iconId(sidcFor(item));
  const course = typeof item.course === "number" && Number.isFinite(item.course) ? item.course : null;
  return {
    type: "Feature",
    geometry: { type: "Point", coordinates: [item.lon, item.lat] },
    properties: {
      uid: item.uid,
      icon,
      label: labelId(labelOf(item)),
      hw: sizeOf(icon).w / 2,
      course: course ?? 0,
      heading: course === null || isDrawing(item) ? 0 : 1,
      fade: fading ? 1 : 0,
    },
  };
}

export interface ShapeProps {
  uid: string;
  stroke: string;
  fill: string;
  closed: number;
}

const EARTH_M = 6371008.8;

/** A ring of `radius` metres around a point, as a closed lon/lat line (64 segments). */
export function circle(lat: number, lon: number, radius: number, steps = 64): [number, number][] {
  const out: [number, number][] = [];
  const d = radius / EARTH_M;
  const la = (lat * Math.PI) / 180;
  const lo = (lon * Math.PI) / 180;
  for (let i = 0; i <= steps; i += 1) {
    const b = (2 * Math.PI * i) / steps;
    const lat2 = Math.asin(Math.sin(la) * Math.cos(d) + Math.cos(la) * Math.sin(d) * Math.cos(b));
    const lon2 = lo + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(la), Math.cos(d) - Math.sin(la) * Math.sin(lat2));
    out.push([(lon2 * 180) / Math.PI, (lat2 * 180) / Math.PI]);
  }
  return out;
}

export function shapeFeatures(item: Item): Feature<LineString | Polygon, ShapeProps>[] {
  const shape = item.shape;
  if (!shape) return [];
  const props = (closed: boolean): ShapeProps => ({
    uid: item.uid,
    stroke: shape.stroke ?? "rgba(255, 255, 255, 1)",
    fill: shape.fill ?? "rgba(255, 255, 255, 0.15)",
    closed: closed ? 1 : 0,
  });
  if (shape.kind === "circle") {
    return shape.radii.map((radius, index) => ({
      type: "Feature",
      geometry: { type: "Polygon", coordinates: [circle(item.lat, item.lon, radius)] },
      // Only the innermost ring is filled: range rings stay readable.
      properties: { ...props(index === 0), fill: index === 0 ? props(true).fill : "rgba(0, 0, 0, 0)" },
    }));
  }
  const ring = shape.points.map(([lat, lon]) => [lon, lat] as [number, number]);
  if (shape.kind === "polygon") {
    return [{ type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: props(true) }];
  }
  return [{ type: "Feature", geometry: { type: "LineString", coordinates: ring }, properties: props(false) }];
}
