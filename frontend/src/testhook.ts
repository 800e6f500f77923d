// What the browser tests (tests/web) read from the map, only with `?test=1`: the data
// of the page's GeoJSON sources (`shapes`, `trails`, …) and what maplibre drew.

import type { GeoJSON } from "geojson";
import type maplibregl from "maplibre-gl";
import type { GeoJSONSource } from "maplibre-gl";

export interface Drawn {
  layer: string;
  uid: string | null;
  geometry: string;
}

interface TestWindow {
  alliedTest?: {
    /** The data a GeoJSON source holds now (null: no such source). */
    source: (id: string) => Promise<GeoJSON | null>;
    /** The features maplibre rendered on these layers, in the current view. */
    rendered: (layers: string[]) => Drawn[];
  };
}

export function installTestHook(map: maplibregl.Map): void {
  if (new URLSearchParams(location.search).get("test") !== "1") return;
  (window as TestWindow).alliedTest = {
    source: async (id) => {
      const source = map.getSource(id) as GeoJSONSource | undefined;
      return source ? await source.getData() : null;
    },
    rendered: (layers) =>
      map
        .queryRenderedFeatures({ layers: layers.filter((id) => map.getLayer(id)) })
        .map((f) => ({ layer: f.layer.id, uid: (f.properties?.uid as string | undefined) ?? null, geometry: f.geometry.type })),
  };
}
