export function cacheDir(): string;
export function guestReady(): boolean;
export function prepare(options?: { log?: (line: string) => void }): {
  kernel: string;
  initrd: string;
  kernelVersion: string;
  modulesRoot: string;
};
export interface GuestOptions {
  mode: "dhcp" | "static" | "lane";
  tapFd?: number;
  tapName?: string;
  netns?: string;
  address?: string;
  vnetHdr?: boolean;
  mac?: string;
  ping?: string[];
  run?: string;
  outDir?: string;
  memoryMb?: number;
  timeoutMs?: number;
  onLine?: (line: string) => void;
}
export interface GuestResult {
  exitCode: number;
  lines: string[];
  markers: Map<string, string[]>;
  qemuExit: number | string | null;
}
export function bootGuest(options: GuestOptions): Promise<GuestResult>;
export function buildCpio(
  entries: {
    path: string;
    type: "dir" | "file" | "symlink";
    mode?: number;
    data?: Buffer;
    target?: string;
  }[],
): Buffer;
