import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";
import "./workbench.css";
import { App } from "./app";

const root = document.getElementById("app");
if (root) void new App(root).start();
