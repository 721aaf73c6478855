export { main } from "./cli.js";
export { runDemo } from "./demo.js";
