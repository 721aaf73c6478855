import type { Options, ResultPromise } from "execa";

export declare const isolated: boolean;
/** Device:inode of one of this process's namespaces ("net", "mnt", "pid"), read from /proc. */
export declare function namespaceIdentity(kind: string, pid?: string | number): string | undefined;
/** The starter's netns identity, captured by vmnet-isolate before it isolated (VMNET_HOST_NETNS). */
export declare function hostNetnsIdentity(): string | undefined;
export declare function privilegeGap(): string | undefined;
export declare function skipBecause(what: string, reason: string | undefined): boolean;
export declare function which(program: string): string | undefined;
export declare function requireProgram(program: string, debianPackage: string): string;
export declare function uniqueName(prefix?: string): string;

export interface TestNetns {
  readonly name: string;
  readonly path: string;
  exec(file: string, args?: readonly string[], options?: Options): ResultPromise;
  // biome-ignore lint/suspicious/noExplicitAny: ip -j output is untyped JSON
  ipJson(args: readonly string[]): Promise<any[]>;
  remove(): Promise<void>;
}

export declare function createNetns(prefix?: string): Promise<TestNetns>;
export declare function withNetns<T>(fn: (ns: TestNetns) => Promise<T>, prefix?: string): Promise<T>;
