// The offline basemap: Natural Earth 1:50m land, coastlines and borders (world-atlas,
// public domain) as GeoJSON sources, on a plain ocean. No tile server, no glyphs:
// place names are HTML markers so that the page never reaches the internet.

import type { FeatureCollection, Geometry, MultiLineString } from "geojson";
import maplibregl from "maplibre-gl";
import type { StyleSpecification } from "maplibre-gl";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import { t } from "./i18n";
import type { Key } from "./i18n";
import countriesUrl from "world-atlas/countries-50m.json?url";
import landUrl from "world-atlas/land-50m.json?url";

/** Philippines to Japan (lon 115–150, lat 4–46). */
export const REGION: [[number, number], [number, number]] = [
  [115, 4],
  [150, 46],
];

export const COLOURS = {
  ocean: "#0b1722",
  land: "#1b2631",
  coast: "#4f6b80",
  border: "#6b7f90",
  graticule: "#15283a",
};

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

export function baseStyle(): StyleSpecification {
  return {
    version: 8,
    name: "allied-c2 offline",
    sources: {
      land: { type: "geojson", data: EMPTY },
      coast: { type: "geojson", data: EMPTY },
      borders: { type: "geojson", data: EMPTY },
      graticule: { type: "geojson", data: graticule(5) },
    },
    layers: [
      { id: "ocean", type: "background", paint: { "background-color": COLOURS.ocean } },
      {
        id: "graticule",
        type: "line",
        source: "graticule",
        paint: { "line-color": COLOURS.graticule, "line-width": 1 },
      },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": COLOURS.land } },
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: { "line-color": COLOURS.border, "line-width": 0.8, "line-dasharray": [3, 2] },
      },
      {
        id: "coast",
        type: "line",
        source: "coast",
        paint: { "line-color": COLOURS.coast, "line-width": 1.1 },
      },
    ],
  };
}

function graticule(step: number): FeatureCollection<MultiLineString> {
  const lines: [number, number][][] = [];
  for (let lon = 100; lon <= 170; lon += step) lines.push([[lon, -10], [lon, 60]]);
  for (let lat = -10; lat <= 60; lat += step) lines.push([[100, lat], [170, lat]]);
  return {
    type: "FeatureCollection",
    features: [{ type: "Feature", properties: {}, geometry: { type: "MultiLineString", coordinates: lines } }],
  };
}

async function topology(url: string): Promise<Topology> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`basemap ${url}: HTTP ${response.status}`);
  return (await response.json()) as Topology;
}

/** Fetch the bundled TopoJSON and fill the basemap sources. */
export async function loadBasemap(map: maplibregl.Map): Promise<void> {
  const [land, countries] = await Promise.all([topology(landUrl), topology(countriesUrl)]);
  const landObject = land.objects.land as GeometryCollection;
  const countryObject = countries.objects.countries as GeometryCollection;
  const landGeo = feature(land, landObject) as FeatureCollection<Geometry>;
  const coast = mesh(land, landObject);
  const borders = mesh(countries, countryObject, (a, b) => a !== b);
  (map.getSource("land") as maplibregl.GeoJSONSource).setData(landGeo);
  (map.getSource("coast") as maplibregl.GeoJSONSource).setData(coast);
  (map.getSource("borders") as maplibregl.GeoJSONSource).setData(borders);
}

const PLACE_LABELS: { text: Key; lon: number; lat: number; kind: "land" | "sea" }[] = [
  { text: "place.japan", lon: 138.6, lat: 36.9, kind: "land" },
  { text: "place.philippines", lon: 122.9, lat: 12.2, kind: "land" },
  { text: "place.taiwan", lon: 121.0, lat: 23.6, kind: "land" },
  { text: "place.okinawa", lon: 127.9, lat: 26.1, kind: "land" },
  { text: "place.korea", lon: 127.6, lat: 36.9, kind: "land" },
  { text: "place.china", lon: 116.5, lat: 30.0, kind: "land" },
  { text: "place.philippinesea", lon: 132.0, lat: 18.5, kind: "sea" },
  { text: "place.eastchinasea", lon: 125.2, lat: 29.6, kind: "sea" },
  { text: "place.southchinasea", lon: 116.8, lat: 15.0, kind: "sea" },
  { text: "place.seaofjapan", lon: 134.5, lat: 40.5, kind: "sea" },
  { text: "place.pacific", lon: 145.0, lat: 31.0, kind: "sea" },
  { text: "place.luzonstrait", lon: 121.0, lat: 20.6, kind: "sea" },
];

/** Region names as HTML markers (maplibre text layers would need glyphs from a server). */
export function addPlaceLabels(map: maplibregl.Map): void {
  for (const place of PLACE_LABELS) {
    const el = document.createElement("div");
    el.className = `place-label place-${place.kind}`;
    el.textContent = t(place.text);
    new maplibregl.Marker({ element: el }).setLngLat([place.lon, place.lat]).addTo(map);
    // Decoration only: keep it out of the tab order and the accessibility tree.
    el.removeAttribute("tabindex");
    el.removeAttribute("role");
    el.setAttribute("aria-hidden", "true");
  }
}
