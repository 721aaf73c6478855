export { cacheDir, guestReady, prepare } from "./assets.mjs";
export { buildCpio } from "./cpio.mjs";
export { bootGuest } from "./guest.mjs";
