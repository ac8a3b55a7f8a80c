// htm bound to Preact's h: the page writes its markup as tagged templates, no build step.
import { h, render } from "./preact.module.js";
import htm from "./htm.module.js";

export const html = htm.bind(h);
export { h, render };
