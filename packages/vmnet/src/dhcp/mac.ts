// Hardware (MAC) addresses: text as users write it ("aa:bb:cc:dd:ee:ff" or with dashes) and the six
// bytes DHCP and Ethernet carry.

const MAC_TEXT = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

export function isMac(text: string): boolean {
  return MAC_TEXT.test(text);
}

/** Six bytes of a MAC written as text; throws on anything else (inputs are validated first). */
export function macBytes(text: string): Buffer {
  if (!isMac(text)) throw new Error(`not a MAC address: ${JSON.stringify(text)}`);
  return Buffer.from(text.replace(/[:-]/g, ""), "hex");
}

/** Lower-case colon form of six bytes (or of a longer buffer's first six). */
export function formatMac(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push((bytes[i] ?? 0).toString(16).padStart(2, "0"));
  return out.join(":");
}

/** The canonical text of a MAC (lower case, colons), for use as a lookup key. */
export function canonicalMac(text: string): string {
  return formatMac(macBytes(text));
}

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
