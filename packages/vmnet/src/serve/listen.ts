// The --listen address: "host:port", "[v6]:port", a bare port, or a bare host. Only loopback
// addresses may be served without a token (the page shows who talks to whom in the lab).
import { isIP } from "node:net";
import { VmnetInputError } from "../errors.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:8080";

export function parseListen(text: string): ListenAddress {
  const bad = (why: string) => new VmnetInputError("listen", `${why} (got "${text}"; e.g. 127.0.0.1:8080)`);
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2];
  } else if (/^\d+$/.test(text)) {
    host = "127.0.0.1";
    portText = text;
  } else {
    const i = text.lastIndexOf(":");
    if (i >= 0 && text.indexOf(":") !== i) throw bad("write an IPv6 address in brackets");
    host = i >= 0 ? text.slice(0, i) : text;
    portText = i >= 0 ? text.slice(i + 1) : "8080";
  }
  if (host === "localhost") host = "127.0.0.1";
  if (isIP(host) === 0) throw bad("the host must be an IP address");
  const port = Number(portText ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad("the port must be 0-65535");
  return { host, port };
}

/** 127.0.0.0/8, ::1 and ::ffff:127.x: reachable from this host only. */
export function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith("127.");
  const h = host.toLowerCase();
  return h === "::1" || h.startsWith("::ffff:127.");
}
