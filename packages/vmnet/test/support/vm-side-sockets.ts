// TCP and UDP peers for NAT tests, as small python3 processes inside a netns: a server that
// answers one client and reports the client's address as it saw it, and a client that sends a
// line and returns the answer. IPv4 and IPv6 alike (the server listens on "::", dual-stack).
import { type ChildProcess, spawn } from "node:child_process";
import type { TestNetns } from "@vmnet/harness";
import { execa } from "execa";

const SERVER = `
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6, kind)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", port))
if proto == "tcp":
    s.listen(8)
print("ready", flush=True)
while True:
    if proto == "tcp":
        c, addr = s.accept()
        data = c.recv(1000)
        c.sendall(b"hello from " + sys.argv[3].encode() + b" to " + addr[0].encode())
        c.close()
    else:
        data, addr = s.recvfrom(1000)
        s.sendto(b"hello from " + sys.argv[3].encode() + b" to " + addr[0].encode(), addr)
    peer = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
    print(peer, flush=True)
`;

const CLIENT = `
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(family, kind)
s.settimeout(5)
s.connect((host, port))
s.send(b"hi")
print(s.recv(1000).decode().replace("::ffff:", ""))
`;

export interface PeerServer {
  /** Client addresses seen so far, in order. */
  peers: string[];
  stop(): Promise<void>;
}

export async function startServer(
  netns: TestNetns,
  proto: "tcp" | "udp",
  port: number,
  name: string,
): Promise<PeerServer> {
  const child: ChildProcess = spawn(
    "ip",
    ["netns", "exec", netns.name, "python3", "-c", SERVER, proto, String(port), name],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const peers: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const l of lines) {
        if (l === "ready") resolve();
        else if (l) peers.push(l);
      }
    });
    child.once("exit", (code) => reject(new Error(`${proto} server on ${port} exited with ${code}`)));
  });
  return {
    peers,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await gone;
      }
    },
  };
}

/** Sends one line to host:port from the netns; the answer, or the error text. */
export async function ask(
  netns: TestNetns,
  proto: "tcp" | "udp",
  host: string,
  port: number,
): Promise<string> {
  const r = await execa(
    "ip",
    ["netns", "exec", netns.name, "python3", "-c", CLIENT, proto, host, String(port)],
    {
      reject: false,
      timeout: 15_000,
    },
  );
  return r.exitCode === 0 ? String(r.stdout).trim() : `error: ${String(r.stderr).trim().split("\n").at(-1)}`;
}
